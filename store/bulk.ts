import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

export type ColumnType = 'text' | 'integer' | 'bigint' | 'boolean' | 'double precision';

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
  rows: Array<Record<string, string | number | boolean | null>>,
): Promise<void> {
  if (rows.length === 0) return;
  const names = Object.keys(columns);
  if (isPg(db)) {
    // One array per column, unnested side by side: PostgreSQL reads typed arrays much faster
    // than it builds records from JSON objects (the COPY-like path without a second protocol).
    const list = names.map((n) => `"${n}"`).join(', ');
    const arrays = names.map((n) => `?::${columns[n]}[]`).join(', ');
    await db.raw(
      `INSERT INTO "${table}" (${list}) SELECT * FROM unnest(${arrays})`,
      names.map((n) => pgArray(rows.map((row) => row[n] ?? null))),
    );
    return;
  }
  const list = names.map((n) => `"${n}"`).join(', ');
  const picks = names.map((_, i) => `json_extract(value, '$[${i}]')`).join(', ');
  const packed = rows.map((row) => names.map((n) => row[n] ?? null));
  await db.raw(`INSERT INTO "${table}" (${list}) SELECT ${picks} FROM json_each(?)`, [
    JSON.stringify(packed),
  ]);
}

/**
 * Updates many rows by `key` in one statement, the new values travelling as one JSON parameter
 * like {@link bulkInsert}; `set` lists the columns to update.
 */
export async function bulkUpdate(
  db: Db,
  table: string,
  key: string,
  columns: Record<string, ColumnType>,
  rows: Array<Record<string, string | number | boolean | null>>,
): Promise<void> {
  if (rows.length === 0) return;
  const names = Object.keys(columns);
  const set = names
    .filter((n) => n !== key)
    .map((n) => `"${n}" = x."${n}"`)
    .join(', ');
  if (isPg(db)) {
    const types = names.map((n) => `"${n}" ${columns[n]}`).join(', ');
    await db.raw(
      `UPDATE "${table}" SET ${set} FROM json_to_recordset(?::json) AS x(${types}) WHERE "${table}"."${key}" = x."${key}"`,
      [JSON.stringify(rows)],
    );
    return;
  }
  const picks = names.map((n, i) => `json_extract(value, '$[${i}]') AS "${n}"`).join(', ');
  const packed = rows.map((row) => names.map((n) => row[n] ?? null));
  await db.raw(
    `UPDATE "${table}" SET ${set} FROM (SELECT ${picks} FROM json_each(?)) AS x WHERE "${table}"."${key}" = x."${key}"`,
    [JSON.stringify(packed)],
  );
}

/** Ids split into runs of consecutive values and the ids between them. */
export interface IdRuns {
  /** First and last id of each run of at least the asked length, ascending. */
  ranges: Array<[number, number]>;
  /** The other ids, ascending. */
  rest: number[];
}

/**
 * Splits ids (any order, repeats allowed) into runs of at least `minRun` consecutive values
 * and the rest. A run is read as one range of the primary key, where the same ids one by one
 * cost an index descent each: a batch of 5,000 consecutive source records took 3 ms to read
 * from PostgreSQL by range, and 11 ms by list.
 */
export function idRuns(ids: ArrayLike<number>, minRun: number): IdRuns {
  const sorted = Float64Array.from(ids).sort();
  const out: IdRuns = { ranges: [], rest: [] };
  let at = 0;
  while (at < sorted.length) {
    let end = at;
    let last = sorted[at]!;
    let count = 1;
    // Only whole numbers make a run: between 100.5 and 101.5 lies record 101.
    while (
      end + 1 < sorted.length &&
      Number.isInteger(last) &&
      (sorted[end + 1] === last || sorted[end + 1] === last + 1)
    ) {
      end += 1;
      if (sorted[end] !== last) count += 1;
      last = sorted[end]!;
    }
    if (count >= minRun) out.ranges.push([sorted[at]!, last]);
    else
      for (let k = at; k <= end; k++)
        if (k === at || sorted[k] !== sorted[k - 1]) out.rest.push(sorted[k]!);
    at = end + 1;
  }
  return out;
}

/**
 * A condition `column IN (ids)` bound as one parameter, so the statement text is the same
 * whatever the number of ids.
 */
export function inIds(db: Db, column: string, ids: ArrayLike<number>): Knex.Raw {
  // PostgreSQL gets a native array, unnested so the planner can hash it: `= ANY(array)` is
  // checked element by element, which on a sequential scan cost minutes for 20,000 ids.
  if (isPg(db))
    return db.raw('?? IN (SELECT unnest(?::bigint[]))', [column, `{${Array.from(ids).join(',')}}`]);
  return db.raw('?? IN (SELECT value FROM json_each(?))', [
    column,
    JSON.stringify(Array.from(ids)),
  ]);
}

/** The same for text values. */
export function inValues(db: Db, column: string, values: string[]): Knex.Raw {
  if (isPg(db)) return db.raw('?? IN (SELECT unnest(?::text[]))', [column, pgTextArray(values)]);
  return db.raw('?? IN (SELECT value FROM json_each(?))', [column, JSON.stringify(values)]);
}

/** A PostgreSQL array literal of text values, each quoted and escaped. */
function pgTextArray(values: string[]): string {
  return `{${values.map(pgQuoted).join(',')}}`;
}

function pgQuoted(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * A PostgreSQL array literal of column values, passed as one text parameter (knex would expand
 * a JavaScript array into a list of parameters): null as NULL, numbers and booleans as they
 * print, text quoted, so the cast to the column's array type reads each back exactly. A number
 * that is not finite becomes NULL, as it did when rows travelled as JSON.
 */
function pgArray(values: Array<string | number | boolean | null>): string {
  const item = (v: string | number | boolean | null) => {
    if (typeof v === 'string') return pgQuoted(v);
    if (v === null || (typeof v === 'number' && !Number.isFinite(v))) return 'NULL';
    return String(v);
  };
  return `{${values.map(item).join(',')}}`;
}

function isPg(db: Db): boolean {
  return db.client.config.client === 'pg';
}
