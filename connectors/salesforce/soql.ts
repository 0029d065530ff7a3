/** The SOQL the reader sends: incremental REST queries, the first-load count, Bulk queries. */
import { soqlDateTime } from './instant';

export interface QuerySpec {
  object: string;
  /** Every selected field, Id and the cursor field included (see `selectedFields`). */
  fields: string[];
  cursorField: string;
  /** Extra filter from the config, ANDed in parentheses. */
  where?: string;
}

/** Id, the cursor field, the record key, updated-at, then the configured fields; no repeats. */
export function selectedFields(configured: string[], always: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const name of ['Id', ...always, ...configured]) {
    if (seen.has(name.toLowerCase())) continue;
    seen.add(name.toLowerCase());
    out.push(name);
  }
  return out;
}

/**
 * `SELECT ... FROM X WHERE Cursor >= 2026-03-01T08:15:00.000Z AND (where) ORDER BY Cursor, Id`.
 * The literal is unquoted UTC with Z whatever form `since` was stored in; ordering by the cursor
 * and then Id makes every page's highest value a safe place to resume.
 */
export function incrementalSoql(spec: QuerySpec, since: string | null): string {
  const conditions: string[] = [];
  if (since !== null) conditions.push(`${spec.cursorField} >= ${soqlDateTime(since)}`);
  if (spec.where) conditions.push(`(${spec.where})`);
  return `${select(spec)}${whereClause(conditions)} ORDER BY ${spec.cursorField} ASC, Id ASC`;
}

/** `SELECT COUNT() FROM X [WHERE (where)]`: sizes a first load before choosing REST or Bulk. */
export function countSoql(spec: QuerySpec): string {
  return `SELECT COUNT() FROM ${spec.object}${whereClause(spec.where ? [`(${spec.where})`] : [])}`;
}

/** A first load through Bulk API 2.0: no ORDER BY, which Bulk jobs serve faster without. */
export function bulkSoql(spec: QuerySpec): string {
  return `${select(spec)}${whereClause(spec.where ? [`(${spec.where})`] : [])}`;
}

function select(spec: QuerySpec): string {
  return `SELECT ${spec.fields.join(', ')} FROM ${spec.object}`;
}

function whereClause(conditions: string[]): string {
  return conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
}
