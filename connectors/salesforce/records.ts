/** Turns Salesforce rows (REST JSON or Bulk CSV) into Braid source records. */
import { flattenValues, type SourceRecord, type SourceReject } from '../source-reader';
import { parseInstant } from './instant';

/** Which columns identify a record and date it. */
export interface RecordColumns {
  object: string;
  recordKey: string;
  cursorField: string;
  updatedAt: string;
}

export type Converted =
  { ok: true; record: SourceRecord; cursorMs: number } | { ok: false; reject: SourceReject };

// REST writes `+0000`, Bulk CSV writes `Z`; one spelling keeps content hashes equal across both.
const SF_DATETIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})\+0000$/;

/**
 * Flattens one row: jsforce's `attributes` members are dropped at every level, datetimes are
 * written with `Z`, and `updatedAtMs` is the updated-at column read as UTC. A row without its
 * key or a readable cursor value is rejected, naming the object, Id and field.
 */
export function convertRow(raw: Record<string, unknown>, columns: RecordColumns): Converted {
  const values = flattenValues(stripAttributes(raw));
  for (const [name, value] of Object.entries(values)) {
    const m = SF_DATETIME.exec(value);
    if (m) values[name] = `${m[1]}Z`;
  }
  const id = values.Id ?? '';
  const key = values[columns.recordKey] ?? '';
  const origin = `${columns.object}/${id || '(no Id)'}`;
  if (!key) {
    return {
      ok: false,
      reject: { origin, field: columns.recordKey, reason: 'record key is empty' },
    };
  }
  const cursorMs = parseInstant(values[columns.cursorField] ?? '');
  if (cursorMs === null) {
    const reason = `${columns.cursorField} is not a datetime`;
    return { ok: false, reject: { origin, recordKey: key, field: columns.cursorField, reason } };
  }
  const updatedText = values[columns.updatedAt] ?? '';
  const updatedAtMs = updatedText ? parseInstant(updatedText) : null;
  return { ok: true, record: { key, values, updatedAtMs, origin }, cursorMs };
}

/** A record for an Id that getDeleted reports, dated by its deletion. */
export function deletedRecord(object: string, id: string, deletedDate: string): SourceRecord {
  return {
    key: id,
    values: { Id: id },
    updatedAtMs: parseInstant(deletedDate),
    deleted: true,
    origin: `${object}/${id} (deleted)`,
  };
}

function stripAttributes(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, member] of Object.entries(value)) {
    if (name === 'attributes') continue;
    out[name] =
      member !== null && typeof member === 'object' && !Array.isArray(member)
        ? stripAttributes(member as Record<string, unknown>)
        : member;
  }
  return out;
}
