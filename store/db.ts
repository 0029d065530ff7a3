import { mkdirSync } from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import type { DatabaseConfig } from '../config/schema';
import { resolveSecret } from '../config/load';
import { migrationSource } from './migrations';

/**
 * SQLite page cache per connection, in KiB (a negative cache_size): the default 16 MiB made a
 * rebuild of 1M records spend most of its time re-reading index pages it had just written.
 * Bounded, so memory stays flat whatever the data size.
 */
const SQLITE_CACHE_KIB = 64 * 1024;
/** Helper threads SQLite's sorter may use beside the connection's own. */
const SQLITE_SORT_THREADS = 2;
/**
 * The page cache, in KiB, while SQLite sorts a large index into place (see {@link withSortCache}).
 */
const SQLITE_SORT_CACHE_KIB = 4 * 1024;

/** Opens the customer database described by the config (SQLite by default, or PostgreSQL). */
export function openDatabase(config: DatabaseConfig): Knex {
  if (config.client === 'sqlite') {
    if (config.filename !== ':memory:')
      mkdirSync(path.dirname(config.filename), { recursive: true });
    return knexFactory({
      client: 'better-sqlite3',
      connection: { filename: config.filename },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        // WAL lets the CLI read run reports while a worker writes; busy_timeout waits out locks.
        afterCreate: (conn: { pragma(sql: string): unknown }, done: (err?: Error) => void) => {
          conn.pragma('journal_mode = WAL');
          conn.pragma('busy_timeout = 10000');
          conn.pragma('foreign_keys = ON');
          conn.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
          // Large sorts (a rebuild's index builds) may use helper threads: building the key
          // index of 1M records took 1.55 s instead of 2.0 s.
          conn.pragma(`threads = ${SQLITE_SORT_THREADS}`);
          done();
        },
      },
    });
  }
  const connection =
    typeof config.connection === 'string'
      ? config.connection
      : resolveSecret(config.connection, 'database.connection');
  return knexFactory({
    client: 'pg',
    connection,
    searchPath: config.schema ? [config.schema] : undefined,
    pool: { min: 0, max: 8 },
  });
}

/** Brings the schema up to date; safe to call on every start. */
export async function migrate(db: Knex): Promise<void> {
  await db.migrate.latest({ migrationSource });
}

/**
 * SQLite: runs a large sort (an index built afresh, an ordered move) with a small page cache,
 * then gives the connection the cache it had. The sorter sizes each in-memory run by the cache,
 * so with 64 MiB one run held most of an index and was sorted by one thread: building the value
 * index of 1M records took 1.7–2.0 s and 108 MiB more memory, against 1.1 s and 12 MiB in 4 MiB
 * runs that the helper threads sort side by side before one merge. The pages the sort pushes
 * out come back from the file system's cache. PostgreSQL sizes its own sorts.
 *
 * The cache is set on better-sqlite3's connection itself, not through knex: a transaction that
 * ended while the sort ran refuses statements, and its connection would have kept the small
 * cache for every later run. Taken for each setting and given back at once, since outside a
 * transaction the sort needs the pool's one connection too.
 */
export async function withSortCache<T>(
  db: Knex | Knex.Transaction,
  sort: () => Promise<T>,
): Promise<T> {
  if (isPostgres(db)) return sort();
  const pragma = async (text: string): Promise<unknown> => {
    const connection = (await db.client.acquireConnection()) as SqliteConnection;
    try {
      return connection.pragma(text, { simple: true });
    } finally {
      await db.client.releaseConnection(connection);
    }
  };
  const before = Number(await pragma('cache_size'));
  await pragma(`cache_size = -${SQLITE_SORT_CACHE_KIB}`);
  try {
    return await sort();
  } finally {
    await pragma(`cache_size = ${before}`);
  }
}

/** What {@link withSortCache} calls on better-sqlite3's connection. */
interface SqliteConnection {
  pragma(text: string, options: { simple: true }): unknown;
}

/** Whether the database is PostgreSQL (some statements differ). */
export function isPostgres(db: Knex): boolean {
  return db.client.config.client === 'pg';
}
