import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import type { SourcePage } from '../../connectors/source-reader';
import { SqlTableReader, type SqlTableOptions } from '../../connectors/sql';

const PG_URL = process.env.BRAID_TEST_PG_URL;
/** Set in the child runs: where the probe writes what it extracted under the child's TZ. */
const PROBE_OUT = process.env.BRAID_SQL_TZ_OUT;

interface Probe {
  offset: number;
  output: string;
  bound: unknown[];
  rereadCount: number;
}

/** The rows of BL-12: UTC wall times either side of the EU switch to summer time. */
async function insertBl12Rows(admin: Knex): Promise<void> {
  await admin('orders').insert([
    { id: 1, email: 'a@x.io', updated_at: '2026-03-28 23:30:00' },
    { id: 2, email: 'b@x.io', updated_at: '2026-03-29 00:30:00' },
    { id: 3, email: 'c@x.io', updated_at: '2026-03-29 01:30:00' },
  ]);
}

/** Process zones with their offsets at 2026-03-29T12:00Z, to prove each switch took effect. */
const PROCESS_ZONES: Array<[string, number]> = [
  ['UTC', 0],
  ['Europe/Paris', -120],
  ['America/Los_Angeles', 420],
];

interface Db {
  admin: Knex;
  options: SqlTableOptions;
  close(): Promise<void>;
}

const BASE = {
  source: 'shop',
  table: 'orders',
  cursorColumn: 'updated_at',
  keyColumn: 'id',
  recordKey: 'id',
  updatedAt: 'updated_at',
  mode: 'incremental' as const,
  lookBackSeconds: 0,
  zone: 'UTC',
  pageSize: 2,
};

async function openSqlite(): Promise<Db> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'braid-sql-tz-'));
  const filename = path.join(dir, 'shop.db');
  const admin = knexFactory({
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
  });
  return {
    admin,
    options: { ...BASE, client: 'sqlite', connection: () => filename },
    close: async () => {
      await admin.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openPostgres(): Promise<Db> {
  const schema = `braid_tz_${randomBytes(5).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: PG_URL, searchPath: [schema] });
  await admin.raw('CREATE SCHEMA ??', [schema]);
  return {
    admin,
    options: { ...BASE, client: 'postgres', connection: () => PG_URL!, schema },
    close: async () => {
      await admin.raw('DROP SCHEMA ?? CASCADE', [schema]);
      await admin.destroy();
    },
  };
}

const backends: Array<[string, () => Promise<Db>]> = [['SQLite', openSqlite]];
if (PG_URL) backends.push(['PostgreSQL', openPostgres]);

async function read(options: SqlTableOptions, cursor: string | null): Promise<SourcePage[]> {
  const reader = new SqlTableReader(options);
  const pages: SourcePage[] = [];
  try {
    for await (const page of reader.pages(cursor, new AbortController().signal)) pages.push(page);
  } finally {
    await reader.close();
  }
  return pages;
}

describe.each(backends)('SqlTableReader time zones on %s (BL-12)', (name, open) => {
  let db: Db;

  beforeEach(async () => {
    db = await open();
    await db.admin.schema.createTable('orders', (t) => {
      t.integer('id').notNullable().primary();
      t.string('email');
      t.timestamp('updated_at', { useTz: false });
    });
  });

  afterEach(async () => {
    await db.close();
  });

  it('extracts the same instants, cursor and next bound whatever the process zone', async () => {
    // jest gives each test file a copy of process.env, so TZ cannot be switched in-process:
    // each zone runs this file again in a child jest whose real TZ differs.
    const runs = PROCESS_ZONES.map(([zone, offset]) => {
      const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'braid-sql-tz-out-')), 'run.json');
      execFileSync('npx', ['jest', '--runInBand', __filename, '-t', `probe ${name}`], {
        cwd: path.resolve(__dirname, '../..'),
        env: { ...process.env, TZ: zone, BRAID_SQL_TZ_OUT: out, BRAID_TEST_SERVICES: 'none' },
        stdio: 'pipe',
        timeout: 120_000,
      });
      const probe = JSON.parse(readFileSync(out, 'utf8')) as Probe;
      rmSync(path.dirname(out), { recursive: true, force: true });
      expect(probe.offset).toBe(offset);
      return probe;
    });

    expect(runs[1]!.output).toBe(runs[0]!.output);
    expect(runs[2]!.output).toBe(runs[0]!.output);
    const run = JSON.parse(runs[0]!.output) as SourcePage[];
    const records = run.flatMap((p) => p.records);
    expect(records.map((r) => r.values.updated_at)).toEqual([
      '2026-03-28T23:30:00.000Z',
      '2026-03-29T00:30:00.000Z',
      '2026-03-29T01:30:00.000Z',
    ]);
    expect(records.map((r) => r.updatedAtMs)).toEqual([
      Date.UTC(2026, 2, 28, 23, 30),
      Date.UTC(2026, 2, 29, 0, 30),
      Date.UTC(2026, 2, 29, 1, 30),
    ]);
    expect(JSON.parse(run[run.length - 1]!.cursor).at).toBe('2026-03-29T01:30:00.000Z');
    const literal = name === 'SQLite' ? '2026-03-29 01:30:00.000' : '2026-03-29 01:30:00';
    for (const probe of runs) expect(probe.bound).toEqual([literal, literal]);
    expect(runs.map((probe) => probe.rereadCount)).toEqual([0, 0, 0]);
  });

  const probe = PROBE_OUT ? it : it.skip;
  probe(`probe ${name}`, async () => {
    await insertBl12Rows(db.admin);
    const run1 = await read(db.options, null);
    const queries: unknown[][] = [];
    const options = {
      ...db.options,
      onQuery: (_: string, b: readonly unknown[]) => queries.push([...b]),
    };
    const run2 = await read(options, run1[run1.length - 1]!.cursor);
    const result: Probe = {
      offset: new Date(Date.UTC(2026, 2, 29, 12)).getTimezoneOffset(),
      // Origins carry the throwaway schema's name, which differs between children.
      output: JSON.stringify(run1).replace(/braid_tz_[0-9a-f]+/g, 'schema'),
      bound: queries[queries.length - 1]!.slice(0, 2),
      rereadCount: run2.flatMap((p) => p.records).length,
    };
    writeFileSync(PROBE_OUT!, JSON.stringify(result));
  });

  it('reads zone-less values as wall time in the declared zone across the DST change', async () => {
    await db.admin('orders').insert([
      { id: 1, email: 'a@x.io', updated_at: '2026-03-29 00:30:00' },
      { id: 2, email: 'b@x.io', updated_at: '2026-03-29 01:30:00' },
      { id: 3, email: 'c@x.io', updated_at: '2026-03-29 03:30:00' },
    ]);
    const paris = { ...db.options, zone: 'Europe/Paris', lookBackSeconds: 300 };

    const run1 = await read(paris, null);
    const queries: unknown[][] = [];
    await read(
      { ...paris, onQuery: (_, b) => queries.push([...b]) },
      run1[run1.length - 1]!.cursor,
    );

    expect(run1.flatMap((p) => p.records).map((r) => r.values.updated_at)).toEqual([
      '2026-03-28T23:30:00.000Z',
      '2026-03-29T00:30:00.000Z',
      '2026-03-29T01:30:00.000Z',
    ]);
    // 01:30Z less five minutes is 01:25Z, which is 03:25 in Paris summer time.
    const lookBack = name === 'SQLite' ? '2026-03-29 03:25:00.000' : '2026-03-29 03:25:00';
    expect(queries[queries.length - 1]![0]).toBe(lookBack);
  });
});
