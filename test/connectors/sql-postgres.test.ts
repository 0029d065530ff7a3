import { randomBytes } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { freePort } from '../../local/ports';
import { AuthError, UpstreamError } from '../../connectors/errors';
import type { SourcePage } from '../../connectors/source-reader';
import { SqlTableReader, type SqlTableOptions } from '../../connectors/sql';

const PG_URL = process.env.BRAID_TEST_PG_URL;
const maybe = PG_URL ? describe : describe.skip;
if (!PG_URL)
  process.stderr.write('BRAID_TEST_PG_URL unset: PostgreSQL SQL source tests skipped.\n');

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

const keysOf = (pages: SourcePage[]): string[] => pages.flatMap((p) => p.records.map((r) => r.key));
const lastCursor = (pages: SourcePage[]): string => pages[pages.length - 1]!.cursor;

maybe('SqlTableReader on PostgreSQL with concurrent writers', () => {
  let admin: Knex;
  let schema: string;
  let options: (o: Partial<SqlTableOptions>) => SqlTableOptions;

  beforeEach(async () => {
    schema = `braid_sql_${randomBytes(5).toString('hex')}`;
    admin = knexFactory({
      client: 'pg',
      connection: PG_URL,
      searchPath: [schema],
      pool: { min: 0, max: 4 },
    });
    await admin.raw('CREATE SCHEMA ??', [schema]);
    await admin.raw(
      'CREATE TABLE customers (id integer PRIMARY KEY, email text, updated_at timestamptz)',
    );
    const old = Array.from({ length: 6 }, (_, i) => ({
      id: i + 1,
      email: `u${i + 1}@x.io`,
      updated_at: admin.raw(`now() - interval '1 hour' + ? * interval '1 second'`, [i]),
    }));
    await admin('customers').insert(old);
    options = (o) => ({
      source: 'crm',
      client: 'postgres',
      connection: () => PG_URL!,
      schema,
      table: 'customers',
      cursorColumn: 'updated_at',
      keyColumn: 'id',
      recordKey: 'id',
      updatedAt: 'updated_at',
      mode: 'incremental',
      lookBackSeconds: 300,
      zone: 'UTC',
      pageSize: 100,
      ...o,
    });
  });

  afterEach(async () => {
    await admin.raw('DROP SCHEMA ?? CASCADE', [schema]);
    await admin.destroy();
  });

  it('reads a row committed after run 1 with an earlier timestamp in run 2 (BL-10)', async () => {
    const lateTx = await admin.transaction();
    await lateTx('customers').insert({
      id: 7,
      email: 'late@x.io',
      updated_at: lateTx.raw('clock_timestamp()'),
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await admin('customers').insert({
      id: 8,
      email: 'on-time@x.io',
      updated_at: admin.raw('clock_timestamp()'),
    });

    const run1 = await read(options({}), null);
    await lateTx.commit();
    const run2 = await read(options({}), lastCursor(run1));
    const withoutLookBack = await read(options({ lookBackSeconds: 0 }), lastCursor(run1));

    expect(keysOf(run1)).toEqual(['1', '2', '3', '4', '5', '6', '8']);
    expect(keysOf(run2)).toEqual(expect.arrayContaining(['7', '8']));
    expect(keysOf(withoutLookBack)).toEqual([]);
    const row8 = await admin('customers').where({ id: 8 }).first();
    const done = JSON.parse(lastCursor(run2));
    expect(done.pos.k).toBe(8);
    expect(done.at).toBe((row8.updated_at as Date).toISOString());
    expect(JSON.parse(lastCursor(run1)).pos).toEqual(done.pos);
  });

  it('leaves rows newer than now() minus the safety lag to the next run', async () => {
    const lateTx = await admin.transaction();
    await lateTx('customers').insert({
      id: 7,
      email: 'late@x.io',
      updated_at: lateTx.raw(`clock_timestamp() - interval '1 second'`),
    });
    await admin('customers').insert({
      id: 8,
      email: 'on-time@x.io',
      updated_at: admin.raw(`clock_timestamp() - interval '500 milliseconds'`),
    });
    const lagged = options({ lookBackSeconds: 0, safetyLagSeconds: 2 });

    const run1 = await read(lagged, null);
    await lateTx.commit();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const run2 = await read(lagged, lastCursor(run1));

    expect(keysOf(run1)).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(keysOf(run2)).toEqual(['7', '8']);
  });

  it('reports a rejected login as AuthError naming the source, without the password', async () => {
    const url = new URL(PG_URL!);
    url.username = 'nobody';
    url.password = 's3cret-Pa55';

    const failure = read(options({ connection: () => url.toString() }), null);

    await expect(failure).rejects.toBeInstanceOf(AuthError);
    await expect(failure).rejects.toThrow(
      /^SQL source "crm" \(postgres 127\.0\.0\.1:\d+\/postgres, braid_sql_\w+\.customers\): .*nobody/,
    );
    const error = (await failure.catch((e: unknown) => e)) as Error;
    expect(`${error.message} ${String(error.cause)}`).not.toContain('s3cret-Pa55');
  });

  it('reports an unreachable server as a retryable UpstreamError without the password', async () => {
    const port = await freePort();
    const url = `postgres://braid:s3cret-Pa55@127.0.0.1:${port}/crm`;

    const error = (await read(options({ connection: () => url }), null).catch(
      (e: unknown) => e,
    )) as Error;

    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).retryable).toBe(true);
    expect(error.message).toBe(
      `SQL source "crm" (postgres 127.0.0.1:${port}/crm, ${schema}.customers) could not be reached (ECONNREFUSED)`,
    );
    expect(String((error as Error).cause)).not.toContain('s3cret-Pa55');
  });
});
