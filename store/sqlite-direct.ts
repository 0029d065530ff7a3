import type { Database } from 'better-sqlite3';
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

/** One row's values, in the order of the columns the insert was made for. */
export type DirectRow = ReadonlyArray<string | number | null>;

/**
 * SQLite only: inserts through a statement prepared once per batch on better-sqlite3's own
 * connection, run once per row, for the identity engine's bulk writes (index rows, memberships,
 * golden records). Through knex, every batch is a statement prepared anew whose rows travel as one
 * JSON text that SQLite unpacks with json_each and one json_extract per column; at 1M records
 * that packing and unpacking cost about as much as the B-tree inserts themselves (golden
 * records: 7.7 s against 4.1 s this way). The connection is the transaction's own (knex hands
 * a transaction exactly one), so these rows commit or roll back with everything else it wrote.
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
): Promise<((row: DirectRow) => void) | null> {
  if (db.client.config.client !== 'better-sqlite3' || !isTransaction(db)) return null;
  if (db.isCompleted()) throw new Error(`insert into ${table}: the transaction is already complete`);
  // A transaction's client returns the one connection it runs on (knex makeTxClient).
  const connection = (await db.client.acquireConnection()) as Database;
  const list = columns.map((name) => `"${name}"`).join(', ');
  const statement = connection.prepare(
    `INSERT INTO "${table}" (${list}) VALUES (${columns.map(() => '?').join(', ')})`,
  );
  return (row) => {
    statement.run(row as unknown[]);
  };
}

function isTransaction(db: Db): db is Knex.Transaction {
  return (db as Knex.Transaction).isTransaction === true;
}
