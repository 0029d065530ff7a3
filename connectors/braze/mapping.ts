import { BadInputError } from '../errors';
import type { AttributeObject, MergePair, TrackResult } from './types';

/**
 * Builds a Braze attributes object for one user. Keys with `null` values unset the attribute in
 * Braze. The input is not mutated; an `external_id` key inside `attributes` is ignored so the
 * identifier always comes from `externalId`.
 * @throws BadInputError when `externalId` is empty.
 */
export function toAttributeObject(
  externalId: string,
  attributes: Record<string, unknown>,
): AttributeObject {
  if (typeof externalId !== 'string' || externalId.length === 0) {
    throw new BadInputError('Braze attributes object needs a non-empty external id');
  }
  const rest = { ...attributes };
  delete rest.external_id;
  return { external_id: externalId, ...rest };
}

/**
 * Reads Braze's per-item errors (`errors: [{type, input_array, index}]`) for the attributes
 * array of a request that carried `count` objects. Errors about events or purchases, and
 * indexes outside the request, are dropped: they cannot name one of our objects.
 */
export function mapItemErrors(body: unknown, count: number): TrackResult['itemErrors'] {
  const errors = isRecord(body) && Array.isArray(body.errors) ? body.errors : [];
  const mapped: TrackResult['itemErrors'] = [];
  for (const error of errors) {
    if (!isRecord(error) || error.input_array !== 'attributes') continue;
    const index = error.index;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count) {
      continue;
    }
    const reason = typeof error.type === 'string' ? error.type : 'rejected by Braze';
    mapped.push({ index, reason });
  }
  return mapped.sort((a, b) => a.index - b.index);
}

/**
 * Reads `attributes_processed` from a success body. When Braze leaves it out (it only sends the
 * counter for arrays present in the request), every object not named in an error was queued.
 */
export function readAttributesProcessed(body: unknown, count: number, errorCount: number): number {
  const processed = isRecord(body) ? body.attributes_processed : undefined;
  if (typeof processed === 'number' && Number.isFinite(processed)) return processed;
  return Math.max(0, count - errorCount);
}

/** The `/users/merge` body for pairs of external ids. */
export function toMergeBody(pairs: MergePair[]): string {
  return JSON.stringify({
    merge_updates: pairs.map((pair) => ({
      identifier_to_merge: { external_id: pair.mergeExternalId },
      identifier_to_keep: { external_id: pair.keepExternalId },
    })),
  });
}

/** The `/users/delete` body for external ids. */
export function toDeleteBody(externalIds: string[]): string {
  return JSON.stringify({ external_ids: externalIds });
}

/** Reads `deleted` from a `/users/delete` success body, if it is a count. */
export function readDeletedCount(body: unknown): number | undefined {
  const deleted = isRecord(body) ? body.deleted : undefined;
  return typeof deleted === 'number' && Number.isInteger(deleted) ? deleted : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
