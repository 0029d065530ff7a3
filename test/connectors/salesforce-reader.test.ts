import { AuthError, ConfigError, RateLimitError, UpstreamError } from '../../connectors/errors';
import {
  SalesforceReader,
  describeSalesforce,
  soqlDateTime,
  type SalesforceReaderOptions,
} from '../../connectors/salesforce';
import type { SourcePage } from '../../connectors/source-reader';
import { startSalesforceEmulator, type SalesforceEmulator } from '../../emulators/salesforce';

const USER = { username: 'etl@example.org', password: 'Secr3t-Passw0rd', securityToken: 'TkN-777' };
const BASE = Date.parse('2026-03-01T08:00:00.000Z');
const CONTACT_FIELDS = [
  { name: 'LastName', type: 'string' as const },
  { name: 'Email', type: 'email' as const },
  { name: 'Phone', type: 'phone' as const },
  { name: 'Birthdate', type: 'date' as const },
  { name: 'HasOptedOutOfEmail', type: 'boolean' as const },
  { name: 'Score__c', type: 'double' as const },
];

/** Contacts C00001... with one second between modstamps, or `sameStampEvery` sharing one. */
function contacts(count: number, stampOf = (i: number) => BASE + i * 1000) {
  return Array.from({ length: count }, (_, i) => ({
    Id: `C${String(i + 1).padStart(5, '0')}`,
    LastName: `Person ${i + 1}`,
    Email: `p${i + 1}@example.org`,
    SystemModstamp: new Date(stampOf(i)),
  }));
}

function options(
  emu: SalesforceEmulator,
  extra: Partial<SalesforceReaderOptions> = {},
): SalesforceReaderOptions {
  return {
    source: 'crm',
    loginUrl: emu.url,
    apiVersion: '59.0',
    credentials: () => ({ kind: 'password', ...USER }),
    object: 'Contact',
    fields: ['LastName', 'Email'],
    cursorField: 'SystemModstamp',
    pageSize: 2000,
    bulkThreshold: 1_000_000,
    bulkPageSize: 50_000,
    recordKey: 'Id',
    bulkPollIntervalMs: 5,
    ...extra,
  };
}

async function readAll(reader: SalesforceReader, cursor: string | null, maxPages = Infinity) {
  const pages: SourcePage[] = [];
  for await (const page of reader.pages(cursor, new AbortController().signal)) {
    pages.push(page);
    if (pages.length >= maxPages) break;
  }
  await reader.close();
  return { pages, records: pages.flatMap((p) => p.records), cursor: pages.at(-1)?.cursor ?? null };
}

/** The error a read fails with; a read that succeeds fails the test. */
async function failure(read: Promise<unknown>): Promise<Error> {
  return read.then(
    () => {
      throw new Error('expected the read to fail');
    },
    (error: unknown) => error as Error,
  );
}

async function emulator(records: Array<Record<string, unknown>>, extra = {}) {
  return startSalesforceEmulator({
    objects: { Contact: { fields: CONTACT_FIELDS, records } },
    users: [USER],
    ...extra,
  });
}

function queryRequests(emu: SalesforceEmulator) {
  return emu
    .requestLog()
    .filter((e) => /\/query(\/|$)/.test(e.path) && !e.rawUrl.includes('COUNT'));
}

describe('SalesforceReader', () => {
  let emu: SalesforceEmulator;
  afterEach(() => emu?.stop());

  test('BL-01: reads 12,345 Contacts in 7 pages, each Id once, count equal to totalSize', async () => {
    emu = await emulator(contacts(12_345));

    const { pages, records, cursor } = await readAll(new SalesforceReader(options(emu)), null);
    const ids = new Set(records.map((r) => r.key));

    expect(records).toHaveLength(12_345);
    expect(ids.size).toBe(12_345);
    expect(ids.has('C00001') && ids.has('C02000') && ids.has('C12345')).toBe(true);
    expect(pages).toHaveLength(7);
    expect(queryRequests(emu)).toHaveLength(7);
    expect(JSON.parse(cursor!)).toMatchObject({
      since: new Date(BASE + 12_344_000).toISOString(),
      boundaryIds: ['C12345'],
    });
  });

  test('BL-01: a chain ending with done=false and no nextRecordsUrl fails without a cursor for it', async () => {
    emu = await emulator(contacts(10), { pageSize: 3 });
    emu.breakNextQueryChain(2);
    const pages: SourcePage[] = [];

    const read = (async () => {
      for await (const page of new SalesforceReader(options(emu)).pages(
        null,
        new AbortController().signal,
      )) {
        pages.push(page);
      }
    })();

    await expect(read).rejects.toThrow(UpstreamError);
    await expect(read).rejects.toThrow(
      /crm.*page 2 says done=false but has no nextRecordsUrl \(6 of 10/,
    );
    expect(pages).toHaveLength(1);
    expect(JSON.parse(pages[0]!.cursor).boundaryIds).toEqual(['C00003']);
  });

  test.each([
    ['a Date', new Date('2026-03-01T08:15:00.000Z')],
    ['an offset string', '2026-03-01T09:15:00+01:00'],
  ])('BL-02: a cursor stored as %s becomes an unquoted UTC literal with Z', async (_, since) => {
    emu = await emulator(contacts(30, (i) => Date.parse('2026-03-01T08:14:58.000Z') + i * 1000));
    const cursor = JSON.stringify(typeof since === 'string' ? since : since.toISOString());

    const { records } = await readAll(new SalesforceReader(options(emu)), cursor);
    const query = queryRequests(emu)[0]!;
    const soql = new URL(query.rawUrl, emu.url).searchParams.get('q');

    expect(soqlDateTime(since)).toBe('2026-03-01T08:15:00.000Z');
    expect(soql).toContain('WHERE SystemModstamp >= 2026-03-01T08:15:00.000Z ORDER BY');
    expect(query.rawUrl).not.toContain('+');
    expect(query.status).toBe(200);
    expect(records[0]).toMatchObject({
      key: 'C00003',
      values: { SystemModstamp: '2026-03-01T08:15:00.000Z' },
    });
    expect(records).toHaveLength(28);
  });

  test('BL-02: records at the boundary value come back but are delivered once', async () => {
    const stamp = (i: number) => BASE + Math.floor(i / 4) * 1000;
    emu = await emulator(contacts(10, stamp), { pageSize: 3 });
    const first = await readAll(new SalesforceReader(options(emu)), null);
    emu.insert('Contact', { Id: 'C00011', LastName: 'Late', SystemModstamp: new Date(stamp(9)) });

    const second = await readAll(new SalesforceReader(options(emu)), first.cursor);

    expect(first.records).toHaveLength(10);
    expect(JSON.parse(first.cursor!).boundaryIds).toEqual(['C00009', 'C00010']);
    expect(second.records.map((r) => r.key)).toEqual(['C00011']);
  });

  test('resumes after a crash at page 3 and reads every Id exactly once', async () => {
    emu = await emulator(contacts(25), { pageSize: 4 });

    const before = await readAll(new SalesforceReader(options(emu)), null, 3);
    const after = await readAll(new SalesforceReader(options(emu)), before.cursor);
    const all = [...before.records, ...after.records].map((r) => r.key);

    expect(before.records).toHaveLength(12);
    expect(after.records).toHaveLength(13);
    expect(new Set(all).size).toBe(25);
    expect(all).toHaveLength(25);
  });

  test('reports records deleted since the last run as deleted on the next run', async () => {
    let clock = Date.parse('2026-03-10T10:00:00.000Z');
    emu = await emulator(
      contacts(5, () => clock - 3_600_000),
      { now: () => clock },
    );
    const reader = () => new SalesforceReader(options(emu, { now: () => clock }));
    const first = await readAll(reader(), null);
    clock += 120_000;
    emu.delete('Contact', 'C00002');
    emu.update('Contact', 'C00004', { LastName: 'Renamed' });
    clock += 120_000;

    const second = await readAll(reader(), first.cursor);
    const third = await readAll(reader(), second.cursor);

    expect(first.records.some((r) => r.deleted)).toBe(false);
    expect(second.records).toEqual([
      expect.objectContaining({
        key: 'C00004',
        values: expect.objectContaining({ LastName: 'Renamed' }),
      }),
      {
        key: 'C00002',
        values: { Id: 'C00002' },
        deleted: true,
        updatedAtMs: Date.parse('2026-03-10T10:02:00.000Z'),
        origin: 'Contact/C00002 (deleted)',
      },
    ]);
    expect(JSON.parse(second.cursor!).deletedSince).toBe('2026-03-10T10:04:00.000Z');
    expect(third.records).toEqual([]);
  });

  test('logs in again once when the session expires and retries the page', async () => {
    emu = await emulator(contacts(9), { pageSize: 3 });
    const reader = new SalesforceReader(options(emu));
    const pages: SourcePage[] = [];

    for await (const page of reader.pages(null, new AbortController().signal)) {
      pages.push(page);
      if (pages.length === 1) emu.expireSessions();
    }

    expect(pages.flatMap((p) => p.records)).toHaveLength(9);
    expect(emu.requestLog().filter((e) => e.path.startsWith('/services/Soap/u/59.0'))).toHaveLength(
      2,
    );
    expect(emu.requestLog().filter((e) => e.status === 401)).toHaveLength(1);
  });

  test('fails with an AuthError naming the source when the new session is refused too', async () => {
    emu = await emulator(contacts(3));
    emu.failNext(2, 'INVALID_SESSION_ID', { pathIncludes: '/query' });

    const read = readAll(new SalesforceReader(options(emu)), null);

    await expect(read).rejects.toThrow(AuthError);
    await expect(read).rejects.toThrow(
      /^Salesforce source "crm": Contact query: the session was rejected again/,
    );
  });

  test('rejects wrong credentials with an AuthError that never shows the password or token', async () => {
    emu = await emulator(contacts(3));
    const wrong = options(emu, {
      credentials: () => ({ kind: 'password', ...USER, password: 'Wr0ng-Passw0rd' }),
    });

    const error = await failure(readAll(new SalesforceReader(wrong), null));

    expect(error).toBeInstanceOf(AuthError);
    expect(error.message).toBe(
      'Salesforce source "crm": login as etl@example.org was rejected (INVALID_LOGIN: Invalid ' +
        'username, password, security token; or user locked out.)',
    );
    expect(JSON.stringify({ message: error.message, stack: error.stack })).not.toMatch(
      /Wr0ng|TkN-777/,
    );
  });

  test('turns REQUEST_LIMIT_EXCEEDED into a RateLimitError and 5xx into a retryable UpstreamError', async () => {
    emu = await emulator(contacts(3));
    emu.failNext(1, 'REQUEST_LIMIT_EXCEEDED');
    const limited = await readAll(new SalesforceReader(options(emu)), null).catch(
      (e: unknown) => e,
    );
    emu.failNext(1, 'SERVER_UNAVAILABLE');
    const down = await readAll(new SalesforceReader(options(emu)), null).catch((e: unknown) => e);

    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).retryAfterMs).toBe(15 * 60 * 1000);
    expect((limited as Error).message).toMatch(
      /^Salesforce source "crm": Contact query: rate limited/,
    );
    expect(down).toBeInstanceOf(UpstreamError);
    expect(down).toMatchObject({ status: 503, retryable: true });
    expect(emu.requestLog().filter((e) => e.status >= 500)).toHaveLength(1);
  });

  test('turns a refused query into a ConfigError naming the source and field', async () => {
    emu = await emulator(contacts(3));

    const read = readAll(new SalesforceReader(options(emu, { fields: ['Nope__c'] })), null);

    await expect(read).rejects.toThrow(ConfigError);
    await expect(read).rejects.toThrow(
      /"crm".*INVALID_FIELD: No such column 'Nope__c' on entity 'Contact'/,
    );
  });

  test('uses a Bulk API 2.0 job above bulkThreshold and pages through its locators', async () => {
    emu = await emulator(contacts(250), { bulkChecksUntilComplete: 2 });
    const reader = new SalesforceReader(options(emu, { bulkThreshold: 100, bulkPageSize: 60 }));

    const { pages, records, cursor } = await readAll(reader, null);

    expect(new Set(records.map((r) => r.key)).size).toBe(250);
    expect(pages.map((p) => p.records.length)).toEqual([0, 60, 60, 60, 60, 10]);
    expect(emu.requestCount('/results')).toBe(5);
    expect(JSON.parse(cursor!)).toMatchObject({
      since: new Date(BASE + 249_000).toISOString(),
      boundaryIds: ['C00250'],
    });
    expect(JSON.parse(cursor!).bulk).toBeUndefined();
    expect(records[0]!.values).toEqual({
      Id: 'C00001',
      SystemModstamp: '2026-03-01T08:00:00.000Z',
      LastName: 'Person 1',
      Email: 'p1@example.org',
    });
  });

  test('resumes a Bulk load at the saved locator after a crash', async () => {
    emu = await emulator(contacts(250));
    const opts = options(emu, { bulkThreshold: 100, bulkPageSize: 100 });

    const before = await readAll(new SalesforceReader(opts), null, 2);
    const after = await readAll(new SalesforceReader(opts), before.cursor);
    const all = [...before.records, ...after.records].map((r) => r.key);

    expect(JSON.parse(before.cursor!).bulk).toMatchObject({ locator: expect.any(String) });
    expect(emu.requestCount('/jobs/query') - emu.requestCount('/results')).toBeGreaterThanOrEqual(
      2,
    );
    expect(
      emu.requestLog().filter((e) => e.method === 'POST' && e.path.endsWith('/jobs/query')),
    ).toHaveLength(1);
    expect(all).toHaveLength(250);
    expect(new Set(all).size).toBe(250);
  });

  test('flattens values to text without attributes and reads updatedAt as UTC', async () => {
    emu = await emulator([
      {
        Id: 'C00001',
        LastName: 'Ng',
        Email: 'ng@example.org',
        Phone: null,
        Birthdate: '1990-04-02',
        HasOptedOutOfEmail: true,
        Score__c: 12.5,
        SystemModstamp: new Date(BASE),
        LastModifiedDate: '2026-02-27T23:30:00.000Z',
      },
    ]);
    const fields = ['Phone', 'Birthdate', 'HasOptedOutOfEmail', 'Score__c'];
    const reader = new SalesforceReader(options(emu, { fields, updatedAt: 'LastModifiedDate' }));

    const { records } = await readAll(reader, null);

    expect(records).toEqual([
      {
        key: 'C00001',
        origin: 'Contact/C00001',
        updatedAtMs: Date.parse('2026-02-27T23:30:00.000Z'),
        values: {
          Id: 'C00001',
          SystemModstamp: '2026-03-01T08:00:00.000Z',
          LastModifiedDate: '2026-02-27T23:30:00.000Z',
          Phone: '',
          Birthdate: '1990-04-02',
          HasOptedOutOfEmail: 'true',
          Score__c: '12.5',
        },
      },
    ]);
  });

  test('reads with an OAuth access token and refuses an expired one without logging in', async () => {
    emu = await emulator(contacts(2));
    const token = emu.issueAccessToken();
    const opts = options(emu, {
      instanceUrl: emu.url,
      credentials: () => ({ kind: 'accessToken', accessToken: token }),
    });

    const { records } = await readAll(new SalesforceReader(opts), null);
    emu.expireSessions();
    const error = await failure(readAll(new SalesforceReader(opts), null));

    expect(records).toHaveLength(2);
    expect(error).toBeInstanceOf(AuthError);
    expect(error.message).not.toContain(token);
    expect(emu.requestCount('/services/Soap')).toBe(0);
  });
});

describe('describeSalesforce', () => {
  test('maps Salesforce field types to Braid types', async () => {
    const emu = await emulator([]);

    const fields = await describeSalesforce({ ...options(emu), object: 'Contact' });
    await emu.stop();

    expect(fields.find((f) => f.name === 'Email')).toEqual({
      name: 'Email',
      type: 'email',
      sourceType: 'email',
      nullable: true,
    });
    expect(fields.find((f) => f.name === 'SystemModstamp')).toMatchObject({
      type: 'datetime',
      nullable: false,
    });
    expect(Object.fromEntries(fields.map((f) => [f.name, f.type]))).toMatchObject({
      Id: 'string',
      IsDeleted: 'boolean',
      Phone: 'phone',
      Birthdate: 'date',
      HasOptedOutOfEmail: 'boolean',
      Score__c: 'number',
      LastName: 'string',
    });
  });
});
