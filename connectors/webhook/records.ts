import type { FieldType } from '../../config/schema';
import type { WebhookSourceConfig } from '../../config/sources/webhook';
import { isBlank, parseTimestampMs } from '../../domain/normalize';
import { validateRow } from '../../domain/validate-row';
import type { RecordReject, RecordVersion } from '../../store/webhook';
import { flattenValues } from '../source-reader';

/** Longest record key and event id the staging tables hold. */
const MAX_KEY_CHARS = 500;
const MAX_EVENT_ID_CHARS = 255;

/** The records of a request body, or why the body as a whole has none. */
export type BodyRecords = { ok: true; records: unknown[] } | { ok: false; reason: string };

/**
 * Finds the records in a parsed body: one JSON object, an array of them, or an object whose only
 * member is a `records` array.
 */
export function recordsOfBody(body: unknown): BodyRecords {
  let records: unknown[];
  if (Array.isArray(body)) records = body;
  else if (isObject(body)) {
    const keys = Object.keys(body);
    const wrapped = keys.length === 1 && keys[0] === 'records' && Array.isArray(body.records);
    records = wrapped ? (body.records as unknown[]) : [body];
  } else return { ok: false, reason: 'the body must be a JSON object or an array of objects' };
  if (records.length === 0) return { ok: false, reason: 'the body holds no records' };
  return { ok: true, records };
}

/** A valid record at its index in the request; `origin` is filled in when it is staged. */
export interface IndexedVersion {
  index: number;
  version: Omit<RecordVersion, 'origin'>;
}

export interface CheckedRecords {
  versions: IndexedVersion[];
  rejects: RecordReject[];
}

/**
 * Validates each record on its own: the record key must be present, the event id too when the
 * source has one, `occurred_at` must be ISO 8601 when present, and declared field types must
 * fit. A bad record is rejected with its index, field and reason; the others go on. Reasons
 * never quote values, which are personal data.
 */
export function checkRecords(
  source: string,
  config: WebhookSourceConfig,
  fields: Record<string, FieldType>,
  records: unknown[],
): CheckedRecords {
  const versions: IndexedVersion[] = [];
  const rejects: RecordReject[] = [];
  records.forEach((record, index) => {
    const outcome = checkRecord(source, config, fields, record);
    if ('reason' in outcome) rejects.push({ index, ...outcome });
    else versions.push({ index, version: outcome });
  });
  return { versions, rejects };
}

type Problem = { field?: string; reason: string };

function checkRecord(
  source: string,
  config: WebhookSourceConfig,
  fields: Record<string, FieldType>,
  record: unknown,
): Omit<RecordVersion, 'origin'> | Problem {
  if (!isObject(record)) return { reason: 'not a JSON object' };
  const checked = validateRow(flattenValues(record), fields);
  if (!checked.ok) return { field: checked.field, reason: checked.reason };
  const values = checked.values;

  const key = values[config.recordKey];
  if (key === undefined || isBlank(key)) {
    return { field: config.recordKey, reason: 'missing record key' };
  }
  if (key.length > MAX_KEY_CHARS) {
    const reason = `record key longer than ${MAX_KEY_CHARS} characters`;
    return { field: config.recordKey, reason };
  }

  let eventId: string | null = null;
  if (config.eventId) {
    const raw = values[config.eventId];
    if (raw === undefined || raw === '') {
      return { field: config.eventId, reason: 'missing event id' };
    }
    if (raw.length > MAX_EVENT_ID_CHARS) {
      const reason = `event id longer than ${MAX_EVENT_ID_CHARS} characters`;
      return { field: config.eventId, reason };
    }
    eventId = raw;
  }

  let occurredAtMs: number | null = null;
  const column = config.updatedAt ?? DEFAULT_OCCURRED_AT;
  const raw = values[column];
  if (raw !== undefined && raw !== '') {
    const parsed = parseTimestampMs(raw);
    if (parsed === undefined) return { field: column, reason: 'not an ISO 8601 timestamp' };
    occurredAtMs = parsed;
  }
  return { source, recordKey: key, eventId, values, occurredAtMs };
}

/** Without an `updatedAt` setting, versions are ordered by this column when records carry it. */
export const DEFAULT_OCCURRED_AT = 'occurred_at';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
