import type { Database, Statement } from 'better-sqlite3';
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

/** One row's values, in the order of the columns the insert was made for. */
export type DirectRow = ReadonlyArray<string | number | null>;

/** Rows bound to one multi-row statement: fewer calls into SQLite (see {@link directInsert}). */
const ROWS_PER_STATEMENT = 64;

/**
 * SQLite only: inserts through statements prepared once per call on better-sqlite3's own
 * connection, for the identity engine's bulk writes (index rows, memberships, golden records).
 * Through knex, every batch is a statement prepared anew whose rows travel as one JSON text that
 * SQLite unpacks with json_each and one json_extract per column; at 1M records that packing and
 * unpacking cost about as much as the B-tree inserts themselves (golden records: 7.7 s against
 * 4.1 s this way). Rows go {@link ROWS_PER_STATEMENT} to a statement: one call per row spent a
 * third of an insert's time crossing into SQLite and starting the statement (1.79M index rows:
 * 2.7 s one by one, 1.7 s 100 at a time, in a bare loop). The connection is the transaction's
 * own (knex hands a transaction exactly one), so these rows commit or roll back with everything
 * else it wrote.
 *
 * Returns null on PostgreSQL, which keeps its unnest arrays (store/bulk.ts), and outside a
 * transaction, where knex's pool owns the connection. Numbers are bound as they are: every
 * numeric column written this way is INTEGER, whose affinity stores a whole double as an
 * integer (a text column would keep `5.0`), so callers pass text columns as strings only.
 */
export async function directInsert(
  db: Db,
  table: string,
  columns: readonly string[],
): Promise<((rows: readonly DirectRow[]) => void) | null> {
  if (db.client.config.client !== 'better-sqlite3' || !isTransaction(db)) return null;
  if (db.isCompleted())
    throw new Error(`insert into ${table}: the transaction is already complete`);
  // A transaction's client returns the one connection it runs on (knex makeTxClient).
  const connection = (await db.client.acquireConnection()) as Database;
  const list = columns.map((name) => `"${name}"`).join(', ');
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const insert = (rows: number) =>
    connection.prepare(
      `INSERT INTO "${table}" (${list}) VALUES ${Array(rows).fill(tuple).join(', ')}`,
    );
  let many: Statement | undefined;
  let one: Statement | undefined;
  // One array for every group: the statement binds its values before run returns.
  const values: unknown[] = new Array(ROWS_PER_STATEMENT * columns.length);
  const width = columns.length;
  return (rows) => {
    let at = 0;
    for (; at + ROWS_PER_STATEMENT <= rows.length; at += ROWS_PER_STATEMENT) {
      for (let r = 0; r < ROWS_PER_STATEMENT; r++) {
        const row = rows[at + r]!;
        for (let c = 0; c < width; c++) values[r * width + c] = row[c];
      }
      (many ??= insert(ROWS_PER_STATEMENT)).run(values);
    }
    for (; at < rows.length; at++) (one ??= insert(1)).run(rows[at] as unknown[]);
  };
}
function isTransaction(db: Db): db is Knex.Transaction {
  return (db as Knex.Transaction).isTransaction === true;
}
