import { flattenValues, type SourceRecord, type SourceReject } from '../source-reader';
import type { ZendeskObject } from './types';

/** Which columns identify a record and carry its update time (flattened names). */
export type RecordFields = { recordKey: string; updatedAt: string };

/**
 * Turns raw export records into source records. Deleted records stay records, flagged
 * `deleted`: Zendesk marks a deleted ticket with status `deleted`, a deleted user with
 * `active: false`, and a deleted organization with a `deleted_at` time.
 */
export function toSourceRecords(
  object: ZendeskObject,
  items: unknown[],
  fields: RecordFields,
  origin: string,
): { records: SourceRecord[]; rejects: SourceReject[] } {
  const records: SourceRecord[] = [];
  const rejects: SourceReject[] = [];
  for (const item of items) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      rejects.push({ origin, reason: `${object} export item is not an object` });
      continue;
    }
    const raw = item as Record<string, unknown>;
    const values = flattenValues(raw);
    const key = values[fields.recordKey]?.trim() ?? '';
    if (key === '') {
      rejects.push({ origin, field: fields.recordKey, reason: 'missing record key' });
      continue;
    }
    const updated = values[fields.updatedAt] ?? '';
    const updatedAtMs = updated === '' ? null : parseUtcMs(updated);
    if (updatedAtMs === undefined) {
      const reason = 'not an ISO 8601 timestamp';
      rejects.push({ origin, recordKey: key, field: fields.updatedAt, reason });
      continue;
    }
    records.push({ key, values, updatedAtMs, deleted: isDeleted(object, raw), origin });
  }
  return { records, rejects };
}

function isDeleted(object: ZendeskObject, raw: Record<string, unknown>): boolean {
  switch (object) {
    case 'tickets':
      return raw.status === 'deleted';
    case 'users':
      return raw.active === false;
    case 'organizations':
      return raw.deleted_at !== null && raw.deleted_at !== undefined;
  }
}

// Zendesk writes `2026-01-01T00:00:00Z`; a time without a zone is read as UTC, never local time.
const ISO_DATE_TIME =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** Epoch ms of an ISO 8601 text, or undefined when it is not one. */
export function parseUtcMs(text: string): number | undefined {
  const trimmed = text.trim();
  const match = ISO_DATE_TIME.exec(trimmed);
  if (!match) return undefined;
  const hasTime = /[T ]\d/.test(trimmed);
  const zoned = match[1] !== undefined ? trimmed : `${trimmed}${hasTime ? 'Z' : 'T00:00:00Z'}`;
  const ms = Date.parse(zoned.replace(' ', 'T'));
  return Number.isNaN(ms) ? undefined : ms;
}
