import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

export type ColumnType = 'text' | 'integer' | 'bigint';

/**
 * Many rows in one small statement: the rows travel as one JSON parameter that the database
 * unpacks (`json_each` in SQLite, `json_to_recordset` in PostgreSQL). A multi-row VALUES list
 * would be a new, large statement to parse for every batch, which cost more than the inserts
 * themselves when the identity engine writes millions of index rows.
 */
export async function bulkInsert(
  db: Db,
  table: string,
  columns: Record<string, ColumnType>,
  rows: Array<Record<string, string | number | null>>,
): Promise<void> {
  if (rows.length === 0) return;
  const names = Object.keys(columns);
  if (isPg(db)) {
    const types = names.map((n) => `"${n}" ${columns[n] === 'text' ? 'text' : columns[n]}`).join(', ');
    const list = names.map((n) => `"${n}"`).join(', ');
    await db.raw(`INSERT INTO "${table}" (${list}) SELECT ${list} FROM json_to_recordset(?::json) AS x(${types})`, [
      JSON.stringify(rows),
    ]);
    return;
  }
  const list = names.map((n) => `"${n}"`).join(', ');
  const picks = names.map((_, i) => `json_extract(value, '$[${i}]')`).join(', ');
  const packed = rows.map((row) => names.map((n) => row[n] ?? null));
  await db.raw(`INSERT INTO "${table}" (${list}) SELECT ${picks} FROM json_each(?)`, [JSON.stringify(packed)]);
}

/**
 * A condition `column IN (ids)` bound as one parameter, so the statement text is the same
 * whatever the number of ids.
 */
export function inIds(db: Db, column: string, ids: ArrayLike<number>): Knex.Raw {
  const json = JSON.stringify(Array.from(ids));
  return isPg(db)
    ? db.raw('?? = ANY (SELECT json_array_elements_text(?::json)::bigint)', [column, json])
    : db.raw('?? IN (SELECT value FROM json_each(?))', [column, json]);
}

/** The same for text values. */
export function inValues(db: Db, column: string, values: string[]): Knex.Raw {
  const json = JSON.stringify(values);
  return isPg(db)
    ? db.raw('?? = ANY (SELECT json_array_elements_text(?::json))', [column, json])
    : db.raw('?? IN (SELECT value FROM json_each(?))', [column, json]);
}

function isPg(db: Db): boolean {
  return db.client.config.client === 'pg';
}
