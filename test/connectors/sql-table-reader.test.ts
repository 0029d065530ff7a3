import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { BadInputError, ConfigError } from '../../connectors/errors';
import type { SourcePage } from '../../connectors/source-reader';
import { describeSqlTable, fullRefreshRun, SqlTableReader } from '../../connectors/sql';
import type { SqlTableOptions } from '../../connectors/sql';

const PG_URL = process.env.BRAID_TEST_PG_URL;

interface Db {
  admin: Knex;
  options(overrides: Partial<SqlTableOptions>): SqlTableOptions;
  close(): Promise<void>;
}

interface Backend {
  name: string;
  open(): Promise<Db>;
}

const BASE = {
  source: 'crm',
  table: 'customers',
  cursorColumn: 'updated_at',
  keyColumn: 'id',
  recordKey: 'id',
  updatedAt: 'updated_at',
  mode: 'incremental' as const,
  lookBackSeconds: 0,
  zone: 'UTC',
  pageSize: 250,
};

const sqlite: Backend = {
  name: 'SQLite',
  async open() {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'braid-sql-'));
    const filename = path.join(dir, 'crm.db');
    const admin = knexFactory({
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
    });
    return {
      admin,
      options: (o) => ({ ...BASE, client: 'sqlite', connection: () => filename, ...o }),
      close: async () => {
        await admin.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const postgres: Backend = {
  name: 'PostgreSQL',
  async open() {
    const schema = `braid_sql_${randomBytes(5).toString('hex')}`;
    const admin = knexFactory({ client: 'pg', connection: PG_URL, searchPath: [schema] });
    await admin.raw('CREATE SCHEMA ??', [schema]);
    return {
      admin,
      options: (o) => ({ ...BASE, client: 'postgres', connection: () => PG_URL!, schema, ...o }),
      close: async () => {
        await admin.raw('DROP SCHEMA ?? CASCADE', [schema]);
        await admin.destroy();
      },
    };
  },
};

const backends = PG_URL ? [sqlite, postgres] : [sqlite];
if (!PG_URL) process.stderr.write('BRAID_TEST_PG_URL unset: PostgreSQL variants skipped.\n');

async function createCustomers(admin: Knex): Promise<void> {
  await admin.schema.createTable('customers', (t) => {
    t.integer('id').notNullable().primary();
    t.string('email');
    t.timestamp('updated_at', { useTz: false }).nullable();
    t.decimal('score', 8, 2);
    t.boolean('vip');
  });
}

/** `2026-01-10 12:00:00` plus `seconds`, as a zone-less text value. */
function at(seconds: number): string {
  return new Date(Date.UTC(2026, 0, 10, 12) + seconds * 1000)
    .toISOString()
    .slice(0, 19)
    .replace('T', ' ');
}

async function collect(
  reader: SqlTableReader,
  cursor: string | null,
  maxPages = Infinity,
): Promise<SourcePage[]> {
  const pages: SourcePage[] = [];
  for await (const page of reader.pages(cursor, new AbortController().signal)) {
    pages.push(page);
    if (pages.length >= maxPages) break;
  }
  return pages;
}

async function readAll(options: SqlTableOptions, cursor: string | null): Promise<SourcePage[]> {
  const reader = new SqlTableReader(options);
  try {
    return await collect(reader, cursor);
  } finally {
    await reader.close();
  }
}

const keysOf = (pages: SourcePage[]): string[] => pages.flatMap((p) => p.records.map((r) => r.key));
const lastCursor = (pages: SourcePage[]): string => pages[pages.length - 1]!.cursor;

describe.each(backends)('SqlTableReader on $name', (backend) => {
  let db: Db;

  beforeEach(async () => {
    db = await backend.open();
    await createCustomers(db.admin);
  });

  afterEach(async () => {
    await db.close();
  });

  it('reads every key exactly once across pages and a resume when 600 rows share a timestamp', async () => {
    // Keys are shuffled against time order; rows 700-1299 in time order share one timestamp,
    // so page 3 ends inside the tie and the tie spans the resume and three more pages.
    const ids = Array.from({ length: 2500 }, (_, i) => ((i * 7919) % 2500) + 1);
    const rows = ids.map((id, position) => ({
      id,
      email: `user${id}@example.com`,
      updated_at: at(position < 700 ? position : position < 1300 ? 700 : position - 600 + 1),
    }));
    for (let i = 0; i < rows.length; i += 500)
      await db.admin('customers').insert(rows.slice(i, i + 500));

    const first = new SqlTableReader(db.options({}));
    const firstPages = await collect(first, null, 3);
    await first.close();
    const second = new SqlTableReader(db.options({}));
    const rest = await collect(second, lastCursor(firstPages));
    await second.close();

    const keys = keysOf([...firstPages, ...rest]);
    expect(firstPages.map((p) => p.records.length)).toEqual([250, 250, 250]);
    expect(keys).toHaveLength(2500);
    expect(new Set(keys).size).toBe(2500);
    expect(rest.map((p) => p.records.length)).toEqual([250, 250, 250, 250, 250, 250, 250, 0]);
    const done = JSON.parse(lastCursor(rest));
    expect(done).toMatchObject({ phase: 'done', at: '2026-01-10T12:31:40.000Z' });
    expect(done.pos.k).toBe(ids[2499]);
  });

  it('continues after the saved (cursor, key) in the next run when the look-back is zero', async () => {
    await db.admin('customers').insert([
      { id: 1, email: 'a@x.io', updated_at: at(0) },
      { id: 5, email: 'b@x.io', updated_at: at(10) },
    ]);
    const run1 = await readAll(db.options({}), null);
    await db.admin('customers').insert([
      { id: 9, email: 'c@x.io', updated_at: at(10) },
      { id: 3, email: 'd@x.io', updated_at: at(20) },
    ]);

    const run2 = await readAll(db.options({}), lastCursor(run1));

    expect(keysOf(run1)).toEqual(['1', '5']);
    expect(keysOf(run2)).toEqual(['9', '3']);
    expect(JSON.parse(lastCursor(run2)).pos).toEqual({
      c: expect.stringMatching(/^2026-01-10 12:00:20/),
      k: 3,
    });
  });

  it('re-reads the look-back window and keeps the saved cursor at the greatest value read', async () => {
    await db.admin('customers').insert([
      { id: 1, email: 'a@x.io', updated_at: at(-600) },
      { id: 2, email: 'b@x.io', updated_at: at(-200) },
      { id: 3, email: 'c@x.io', updated_at: at(0) },
    ]);
    const run1 = await readAll(db.options({ lookBackSeconds: 300 }), null);
    await db.admin('customers').where({ id: 3 }).delete();

    const run2 = await readAll(db.options({ lookBackSeconds: 300 }), lastCursor(run1));

    expect(keysOf(run2)).toEqual(['2']);
    expect(JSON.parse(lastCursor(run2))).toEqual(JSON.parse(lastCursor(run1)));
  });

  it('rejects rows with an empty or unparsable cursor, naming table, key and column', async () => {
    await db.admin('customers').insert([
      { id: 1, email: 'a@x.io', updated_at: at(0) },
      { id: 2, email: 'b@x.io', updated_at: null },
      { id: 3, email: 'c@x.io', updated_at: at(5) },
    ]);
    if (backend.name === 'SQLite') {
      await db.admin('customers').insert({ id: 4, email: 'd@x.io', updated_at: 'next tuesday' });
    } else {
      await db.admin('customers').insert({ id: 4, email: 'd@x.io', updated_at: 'infinity' });
    }

    const pages = await readAll(db.options({}), null);

    expect(keysOf(pages)).toEqual(['1', '3']);
    const rejects = pages.flatMap((p) => p.rejects);
    expect(rejects).toEqual([
      {
        origin: expect.stringMatching(/customers\/2$/),
        recordKey: '2',
        field: 'updated_at',
        reason: 'cursor column "updated_at" is empty',
      },
      {
        origin: expect.stringMatching(/customers\/4$/),
        recordKey: '4',
        field: 'updated_at',
        reason: expect.stringContaining('is not a date-time'),
      },
    ]);
    expect(
      rejects[0]!.origin.startsWith(backend.name === 'SQLite' ? 'customers/' : 'braid_sql_'),
    ).toBe(true);
  });

  it('flattens values to text and dates to ISO 8601 UTC', async () => {
    await db.admin('customers').insert([
      { id: 7, email: 'a@x.io', updated_at: '2026-03-29 01:30:00.250', score: 12.5, vip: true },
      { id: 8, email: null, updated_at: '2026-03-29 01:30:01', score: null, vip: false },
    ]);

    const pages = await readAll(db.options({ zone: 'Europe/Paris' }), null);

    const [a, b] = pages.flatMap((p) => p.records);
    expect(a).toEqual({
      key: '7',
      origin: expect.stringMatching(/customers\/7$/),
      updatedAtMs: Date.UTC(2026, 2, 29, 0, 30, 0, 250),
      values: {
        id: '7',
        email: 'a@x.io',
        updated_at: '2026-03-29T00:30:00.250Z',
        score: backend.name === 'SQLite' ? '12.5' : '12.50',
        vip: 'true',
      },
    });
    expect(b!.values).toEqual({
      id: '8',
      email: '',
      updated_at: '2026-03-29T00:30:01.000Z',
      score: '',
      vip: 'false',
    });
  });

  it('reads the whole table under one run id per full refresh and a new one next run', async () => {
    const rows = Array.from({ length: 5 }, (_, i) => ({
      id: i + 1,
      email: `u${i}@x.io`,
      updated_at: null,
    }));
    await db.admin('customers').insert(rows);
    const options = db.options({
      mode: 'full_refresh',
      pageSize: 2,
      cursorColumn: undefined,
      updatedAt: undefined,
    });

    const first = new SqlTableReader(options);
    const partial = await collect(first, null, 1);
    await first.close();
    const resumed = await readAll(options, partial[0]!.cursor);
    const next = await readAll(options, lastCursor(resumed));

    const runs = [...partial, ...resumed].map((p) => fullRefreshRun(p.cursor));
    expect(keysOf([...partial, ...resumed])).toEqual(['1', '2', '3', '4', '5']);
    expect(new Set(runs.map((r) => r!.runId)).size).toBe(1);
    expect(runs.map((r) => r!.complete)).toEqual([false, false, true]);
    expect(keysOf(next)).toEqual(['1', '2', '3', '4', '5']);
    expect(fullRefreshRun(lastCursor(next))!.runId).not.toBe(runs[0]!.runId);
    expect(fullRefreshRun(lastCursor(next))!.complete).toBe(true);
  });

  it('describes the columns with Braid types', async () => {
    const fields = await describeSqlTable(db.options({}));

    expect(fields.map((f) => [f.name, f.type, f.nullable])).toEqual([
      ['id', 'number', false],
      ['email', 'string', true],
      ['updated_at', 'datetime', true],
      ['score', 'number', true],
      ['vip', 'boolean', true],
    ]);
    expect(fields[2]!.sourceType).toBe(backend.name === 'SQLite' ? 'datetime' : 'timestamp');
  });

  it('fails with ConfigError naming the source for a missing table or column', async () => {
    await expect(readAll(db.options({ table: 'nope' }), null)).rejects.toBeInstanceOf(ConfigError);
    await expect(readAll(db.options({ table: 'nope' }), null)).rejects.toThrow(
      /SQL source "crm" .*nope.*: no such table or view/,
    );
    await expect(readAll(db.options({ keyColumn: 'uid' }), null)).rejects.toThrow(
      /keyColumn "uid" is not a column/,
    );
    // SQLite keeps dates in text columns, so only a boolean column is refused there.
    await expect(readAll(db.options({ cursorColumn: 'vip' }), null)).rejects.toThrow(
      /cursorColumn "vip" is .*; a cursor must be a date, date-time or number column/,
    );
  });

  it('rejects a saved cursor that is not its own with BadInputError', async () => {
    await expect(readAll(db.options({}), '{"file":"x.csv"}')).rejects.toBeInstanceOf(BadInputError);
  });

  it('stops when the signal aborts', async () => {
    await db
      .admin('customers')
      .insert(Array.from({ length: 30 }, (_, i) => ({ id: i + 1, email: 'x', updated_at: at(i) })));
    const reader = new SqlTableReader(db.options({ pageSize: 10 }));
    const controller = new AbortController();
    const seen: number[] = [];

    const reading = (async () => {
      for await (const page of reader.pages(null, controller.signal)) {
        seen.push(page.records.length);
        controller.abort(new Error('cancelled'));
      }
    })();

    await expect(reading).rejects.toThrow('cancelled');
    await reader.close();
    expect(seen).toEqual([10]);
  });
});
