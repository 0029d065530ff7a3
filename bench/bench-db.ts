import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { openDatabase } from '../store/db';
import { startTestPostgres } from '../test/support/postgres';

/** Where one bench case keeps its data: a SQLite file, or a schema of a PostgreSQL server. */
export type BenchTarget =
  { client: 'sqlite'; filename: string } | { client: 'postgres'; url: string; schema: string };

export function openTarget(target: BenchTarget): Knex {
  return target.client === 'sqlite'
    ? openDatabase({ client: 'sqlite', filename: target.filename })
    : openDatabase({ client: 'postgres', connection: target.url, schema: target.schema });
}

/** A fresh SQLite file in a directory of its own; `drop` removes both. */
export function sqliteTarget(label: string): { target: BenchTarget; drop(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `braid-bench-${label}-`));
  return {
    target: { client: 'sqlite', filename: path.join(dir, 'braid.db') },
    drop: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A fresh, empty schema on the server; `drop` removes it and everything in it. */
export async function postgresTarget(
  url: string,
  label: string,
): Promise<{ target: BenchTarget; drop(): Promise<void> }> {
  const schema = `braid_bench_${label}_${process.pid}`;
  const admin = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  try {
    await admin.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
    await admin.raw('CREATE SCHEMA ??', [schema]);
  } finally {
    await admin.destroy();
  }
  return {
    target: { client: 'postgres', url, schema },
    drop: async () => {
      const again = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
      try {
        await again.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
      } finally {
        await again.destroy();
      }
    },
  };
}

/** A PostgreSQL server for the bench, or why there is none. */
export type BenchPostgres = { url: string; stop(): void } | { missing: string };

/**
 * BRAID_BENCH_PG_URL when set (never printed: it may hold a password); otherwise a throwaway
 * cluster on loopback, started the way the test suite starts one (fsync off, as there).
 */
export async function benchPostgres(): Promise<BenchPostgres> {
  const given = process.env.BRAID_BENCH_PG_URL;
  if (given) return { url: given, stop: () => undefined };
  try {
    const started = await startTestPostgres();
    if (started) return started;
    return { missing: 'no initdb and pg_ctl found, and BRAID_BENCH_PG_URL is not set' };
  } catch (error) {
    return { missing: `could not start PostgreSQL: ${(error as Error).message.split('\n')[0]}` };
  }
}
