import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { openDatabase } from '../../store/db';

/** Set by the global setup (a throwaway cluster) or by the caller. */
export const PG_URL = process.env.BRAID_TEST_PG_URL;
if (!PG_URL && process.env.CI)
  throw new Error('CI needs BRAID_TEST_PG_URL for the PostgreSQL tests');

/** A fresh, empty customer database: a SQLite file, or a PostgreSQL schema of its own. */
export interface Backend {
  name: string;
  open(): Promise<{ db: Knex; close(): Promise<void> }>;
}

export const sqlite: Backend = {
  name: 'SQLite',
  async open() {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'braid-store-'));
    const db = openDatabase({ client: 'sqlite', filename: path.join(dir, 'nested', 'braid.db') });
    return {
      db,
      close: async () => {
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

export const postgres: Backend = {
  name: 'PostgreSQL',
  async open() {
    const schema = `braid_test_${randomBytes(6).toString('hex')}`;
    const admin = knexFactory({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 } });
    await admin.raw('CREATE SCHEMA ??', [schema]);
    const db = openDatabase({ client: 'postgres', connection: PG_URL!, schema });
    return {
      db,
      close: async () => {
        await db.destroy();
        await admin.raw('DROP SCHEMA ?? CASCADE', [schema]);
        await admin.destroy();
      },
    };
  },
};

/** SQLite always; PostgreSQL too when a server is available. */
export const BACKENDS: Backend[] = PG_URL ? [sqlite, postgres] : [sqlite];
