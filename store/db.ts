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

/** Opens the customer database described by the config (SQLite by default, or PostgreSQL). */
export function openDatabase(config: DatabaseConfig): Knex {
  if (config.client === 'sqlite') {
    if (config.filename !== ':memory:') mkdirSync(path.dirname(config.filename), { recursive: true });
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
    typeof config.connection === 'string' ? config.connection : resolveSecret(config.connection, 'database.connection');
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

/** Whether the database is PostgreSQL (some statements differ). */
export function isPostgres(db: Knex): boolean {
  return db.client.config.client === 'pg';
}
