import type { SourcePage } from '../../connectors/source-reader';
import { describeZendesk, ZendeskReader } from '../../connectors/zendesk';
import type { ZendeskReaderOptions } from '../../connectors/zendesk';
import { startZendeskEmulator } from '../../emulators/zendesk';
import type { ZendeskEmulator, ZendeskRecord } from '../../emulators/zendesk';

const EMAIL = 'admin@example.org';
const TOKEN = 'zd-token-orgs';
const START = 1767225600;

function org(id: number, second: number, deletedAt: string | null = null): ZendeskRecord {
  return {
    id,
    name: `Org ${id}`,
    domain_names: [`org${id}.example`],
    organization_fields: { tier: id % 2 === 0 ? 'gold' : null },
    created_at: '2025-06-01T10:00:00Z',
    deleted_at: deletedAt,
    updated_at: new Date((START + second) * 1000).toISOString().replace('.000', ''),
  };
}

// Seconds chosen so that pages of 2 end inside a second that the next page repeats.
const ORGS = [
  org(1, 0),
  org(2, 10),
  org(3, 10),
  org(4, 10, '2026-01-03T00:00:00Z'),
  org(5, 20),
  org(6, 30),
];
const LOGIN = [{ email: EMAIL, apiToken: TOKEN }];

async function readAll(reader: ZendeskReader, cursor: string | null = null): Promise<SourcePage[]> {
  const pages: SourcePage[] = [];
  for await (const page of reader.pages(cursor, new AbortController().signal)) pages.push(page);
  return pages;
}

describe('ZendeskReader on the time-based organizations export', () => {
  let zd: ZendeskEmulator;

  beforeAll(async () => {
    zd = await startZendeskEmulator({ credentials: LOGIN, organizations: ORGS });
  });

  afterAll(() => zd.stop());
  beforeEach(() => zd.reset());

  function options(overrides: Partial<ZendeskReaderOptions> = {}): ZendeskReaderOptions {
    return {
      source: 'support-orgs',
      baseUrl: zd.url,
      auth: { email: EMAIL, apiToken: TOKEN },
      object: 'organizations',
      startTime: START,
      pageSize: 2,
      ...overrides,
    };
  }

  it('follows end_time until end_of_stream and drops the records a page repeats', async () => {
    const pages = await readAll(new ZendeskReader(options()));

    expect(zd.requestLog().map((e) => e.query)).toEqual([
      `start_time=${START}&per_page=2`,
      `start_time=${START + 10}&per_page=2`,
      `start_time=${START + 20}&per_page=2`,
    ]);
    const keys = pages.map((p) => p.records.map((r) => r.key));
    expect(keys).toEqual([['1', '2', '3', '4'], ['5'], ['6']]);
    expect(JSON.parse(pages[0]!.cursor)).toEqual({
      object: 'organizations',
      kind: 'time',
      startTime: START + 10,
      seenIds: ['2', '3', '4'],
    });
    const deleted = pages.flatMap((p) => p.records).filter((r) => r.deleted);
    expect(deleted.map((r) => r.key)).toEqual(['4']);
  });

  it('resumes after a saved page and delivers every organization once', async () => {
    const first = await readAll(new ZendeskReader(options()));
    const resumed = await readAll(new ZendeskReader(options()), first[0]!.cursor);

    const keys = [...first.slice(0, 1), ...resumed].flatMap((p) => p.records.map((r) => r.key));
    expect(keys).toEqual(['1', '2', '3', '4', '5', '6']);
  });

  it('picks up new and updated records after the cursor of a finished run', async () => {
    const finished = await readAll(new ZendeskReader(options()));
    const last = finished[finished.length - 1]!.cursor;
    zd.put('organizations', [org(7, 30), org(3, 40)]);

    const next = await readAll(new ZendeskReader(options()), last);

    expect(next.flatMap((p) => p.records.map((r) => r.key))).toEqual(['7', '3']);
    zd.put('organizations', [org(3, 10)]);
  });
});

describe('describeZendesk', () => {
  let zd: ZendeskEmulator;

  beforeAll(async () => {
    zd = await startZendeskEmulator({
      credentials: LOGIN,
      organizations: ORGS,
      users: [
        {
          id: 1,
          email: 'a@example.org',
          phone: '+33 1 23 45 67 89',
          active: true,
          updated_at: '2026-01-01T00:00:00Z',
        },
        { id: 2, email: null, active: false, updated_at: '2026-01-01T00:00:01Z' },
      ],
    });
  });

  afterAll(() => zd.stop());

  it('describes the flattened columns of the first export page', async () => {
    const signal = new AbortController().signal;
    const auth = { email: EMAIL, apiToken: TOKEN };
    const base = { source: 's', baseUrl: zd.url, auth, startTime: START };

    const orgFields = await describeZendesk({ ...base, object: 'organizations' }, signal);
    const userFields = await describeZendesk({ ...base, object: 'users' }, signal);

    expect(orgFields).toEqual([
      { name: 'url', type: 'string', sourceType: 'string', nullable: false },
      { name: 'id', type: 'number', sourceType: 'number', nullable: false },
      { name: 'name', type: 'string', sourceType: 'string', nullable: false },
      { name: 'domain_names', type: 'string', sourceType: 'array', nullable: false },
      { name: 'organization_fields.tier', type: 'string', sourceType: 'string', nullable: true },
      { name: 'created_at', type: 'datetime', sourceType: 'string', nullable: false },
      { name: 'deleted_at', type: 'datetime', sourceType: 'string', nullable: true },
      { name: 'updated_at', type: 'datetime', sourceType: 'string', nullable: false },
    ]);
    expect(userFields).toEqual([
      { name: 'url', type: 'string', sourceType: 'string', nullable: false },
      { name: 'id', type: 'number', sourceType: 'number', nullable: false },
      { name: 'email', type: 'email', sourceType: 'string', nullable: true },
      { name: 'phone', type: 'phone', sourceType: 'string', nullable: true },
      { name: 'active', type: 'boolean', sourceType: 'boolean', nullable: false },
      { name: 'updated_at', type: 'datetime', sourceType: 'string', nullable: false },
    ]);
  });
});
