import { BadInputError } from '../errors';
import type {
  AttributeObject,
  EventArray,
  EventObject,
  MergePair,
  PurchaseObject,
  RenamePair,
  RenameResult,
  TrackedEvent,
  TrackedPurchase,
  TrackResult,
} from './types';

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

/** A Braze event object for one user; properties are left out when there are none. */
export function toEventObject(externalId: string, event: TrackedEvent): EventObject {
  checkExternalId(externalId, 'event');
  const object: EventObject = { external_id: externalId, name: event.name, time: event.time };
  if (event.properties && Object.keys(event.properties).length > 0) {
    object.properties = { ...event.properties };
  }
  return object;
}

/** A Braze purchase object for one user; quantity and properties only when given. */
export function toPurchaseObject(externalId: string, purchase: TrackedPurchase): PurchaseObject {
  checkExternalId(externalId, 'purchase');
  const object: PurchaseObject = {
    external_id: externalId,
    product_id: purchase.productId,
    currency: purchase.currency,
    price: purchase.price,
    time: purchase.time,
  };
  if (purchase.quantity !== undefined) object.quantity = purchase.quantity;
  if (purchase.properties && Object.keys(purchase.properties).length > 0) {
    object.properties = { ...purchase.properties };
  }
  return object;
}

function checkExternalId(externalId: string, what: string): void {
  if (typeof externalId !== 'string' || externalId.length === 0) {
    throw new BadInputError(`Braze ${what} object needs a non-empty external id`);
  }
}

/**
 * Reads Braze's per-item errors (`errors: [{type, input_array, index}]`) for one array
 * (`attributes` by default) of a request that carried `count` objects in it. Errors about
 * other arrays, and indexes outside the request, are dropped: they cannot name one of ours.
 */
export function mapItemErrors(
  body: unknown,
  count: number,
  array: 'attributes' | EventArray = 'attributes',
): TrackResult['itemErrors'] {
  const errors = isRecord(body) && Array.isArray(body.errors) ? body.errors : [];
  const mapped: TrackResult['itemErrors'] = [];
  for (const error of errors) {
    if (!isRecord(error) || error.input_array !== array) continue;
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
 * Reads `events_processed` or `purchases_processed` from a success body; when absent, every
 * object not named in an error was queued.
 */
export function readEventsProcessed(
  body: unknown,
  array: EventArray,
  count: number,
  errorCount: number,
): number {
  const processed = isRecord(body) ? body[`${array}_processed`] : undefined;
  if (typeof processed === 'number' && Number.isFinite(processed)) return processed;
  return Math.max(0, count - errorCount);
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

/** The `/users/external_ids/rename` body for pairs of external ids. */
export function toRenameBody(pairs: RenamePair[]): string {
  return JSON.stringify({
    external_id_renames: pairs.map((pair) => ({
      current_external_id: pair.currentExternalId,
      new_external_id: pair.newExternalId,
    })),
  });
}

const RENAME_REFUSED = 'rename refused by Braze';

/**
 * Reads the refused renames of a `/users/external_ids/rename` answer of `pairs`. Braze lists
 * them in `rename_errors`, an array of arrays that reference the index of the object in the
 * request along with a message (`[0, "new_external_id is already in use"]`); the successful
 * ones are in `external_ids`. An error whose index cannot be read makes every pair that
 * `external_ids` does not name count as refused: a rename wrongly taken as refused only costs a
 * full attribute send to the new id, while one wrongly taken as done would leave a diff on a
 * profile that does not exist.
 */
export function mapRenameErrors(body: unknown, pairs: RenamePair[]): RenameResult['itemErrors'] {
  const errors = isRecord(body) && Array.isArray(body.rename_errors) ? body.rename_errors : [];
  const byIndex = new Map<number, string>();
  let unplaced: string | undefined;
  for (const error of errors) {
    const parts: unknown[] = Array.isArray(error)
      ? error
      : isRecord(error)
        ? [error.index, error.message ?? error.type ?? error.error]
        : [error];
    const index = parts.map(readIndex).find((n) => n !== undefined && n < pairs.length);
    const reason = parts.find(
      (p): p is string => typeof p === 'string' && readIndex(p) === undefined,
    );
    if (index === undefined) unplaced ??= reason ?? RENAME_REFUSED;
    else if (!byIndex.has(index)) byIndex.set(index, reason ?? RENAME_REFUSED);
  }
  if (unplaced !== undefined) {
    const listed = isRecord(body) && Array.isArray(body.external_ids) ? body.external_ids : [];
    const done = new Set(listed.filter((id): id is string => typeof id === 'string'));
    pairs.forEach((pair, index) => {
      const renamed = done.has(pair.newExternalId) || done.has(pair.currentExternalId);
      if (!renamed && !byIndex.has(index)) byIndex.set(index, unplaced!);
    });
  }
  return [...byIndex]
    .map(([index, reason]) => ({ index, reason }))
    .sort((a, b) => a.index - b.index);
}

function readIndex(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** The `/users/export/ids` body that asks only for the profiles' primary external ids. */
export function toPrimaryIdsBody(externalIds: string[]): string {
  return JSON.stringify({ external_ids: externalIds, fields_to_export: ['external_id'] });
}

/** Reads the primary ids of the users found and the `invalid_user_ids` of an export answer. */
export function readPrimaryIds(body: unknown): {
  primaryIds: Set<string>;
  unknownIds: Set<string>;
} {
  const list = (key: string) => (isRecord(body) && Array.isArray(body[key]) ? body[key] : []);
  const strings = (values: unknown[]) => values.filter((v): v is string => typeof v === 'string');
  const ids = list('users').map((user: unknown) => (isRecord(user) ? user.external_id : undefined));
  return {
    primaryIds: new Set(strings(ids)),
    unknownIds: new Set(strings(list('invalid_user_ids'))),
  };
}
