import { AuthError, RateLimitError, UpstreamError } from '../../connectors/errors';
import type { SourcePage } from '../../connectors/source-reader';
import { ZendeskReader, type ZendeskReaderOptions } from '../../connectors/zendesk';
import { startZendeskEmulator } from '../../emulators/zendesk';
import type { ZendeskEmulator, ZendeskRecord } from '../../emulators/zendesk';

const EMAIL = 'admin@example.org';
const TOKEN = 'zd-SECRET-token-4711';
const START = 1767225600; // 2026-01-01T00:00:00Z, the start_time of trap BL-04
const USERS_PATH = '/api/v2/incremental/users/cursor.json';

function iso(second: number): string {
  return new Date(second * 1000).toISOString().replace('.000', '');
}

/** 1,412 users, one per second; every 100th is deleted (`active: false`). */
function users(): ZendeskRecord[] {
  return Array.from({ length: 1412 }, (_, i) => ({
    id: 1000 + i,
    name: `User ${i}`,
    email: `user${i}@example.org`,
    active: i % 100 !== 50,
    user_fields: { plan: i % 2 === 0 ? 'gold' : null },
    tags: ['vip'],
    updated_at: iso(START + i),
  }));
}

/** A clock that only moves when the reader sleeps, shared with the emulator's request log. */
function fakeClock() {
  const clock = { nowMs: START * 1000 + 60_000, waits: [] as number[] };
  return {
    clock,
    now: () => clock.nowMs,
    sleep: async (ms: number, signal: AbortSignal) => {
      signal.throwIfAborted();
      clock.waits.push(ms);
      clock.nowMs += ms;
    },
  };
}

async function readAll(reader: ZendeskReader, cursor: string | null = null): Promise<SourcePage[]> {
  const pages: SourcePage[] = [];
  for await (const page of reader.pages(cursor, new AbortController().signal)) pages.push(page);
  return pages;
}

describe('ZendeskReader', () => {
  let zd: ZendeskEmulator;
  const time = fakeClock();
  const warnings: { message: string; fields: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    zd = await startZendeskEmulator({
      credentials: [{ email: EMAIL, apiToken: TOKEN }],
      oauthTokens: ['oauth-SECRET-1'],
      users: users(),
      tickets: [
        { id: 1, subject: 'Open', status: 'open', updated_at: iso(START + 1) },
        { id: 2, subject: 'Gone', status: 'deleted', updated_at: iso(START + 2) },
      ],
      now: time.now,
    });
  });

  afterAll(() => zd.stop());

  beforeEach(() => {
    zd.reset();
    time.clock.waits = [];
    warnings.length = 0;
  });

  function options(overrides: Partial<ZendeskReaderOptions> = {}): ZendeskReaderOptions {
    return {
      source: 'support',
      baseUrl: zd.url,
      auth: { email: EMAIL, apiToken: TOKEN },
      object: 'users',
      startTime: START,
      now: time.now,
      sleep: time.sleep,
      logger: { warn: (message, fields) => warnings.push({ message, fields }) },
      ...overrides,
    };
  }

  it('waits out a 429 on page 2 and retries only that page (trap BL-04)', async () => {
    zd.answer(2, { status: 429, retryAfterSeconds: 7 });

    const pages = await readAll(new ZendeskReader(options()));

    const log = zd.requestLog();
    expect(log.map((e) => [`${e.path}?${e.query}`, e.status])).toEqual([
      [`${USERS_PATH}?start_time=${START}`, 200],
      [`${USERS_PATH}?cursor=u1`, 429],
      [`${USERS_PATH}?cursor=u1`, 200],
    ]);
    expect(zd.requestCount(`${USERS_PATH}?start_time=${START}`)).toBe(1);
    expect(log[2]!.atMs - log[1]!.atMs).toBeGreaterThanOrEqual(7000);
    expect(time.clock.waits).toEqual([7000]);
    expect(pages.map((p) => p.records.length)).toEqual([1000, 412]);
    expect(new Set(pages.flatMap((p) => p.records.map((r) => r.key))).size).toBe(1412);
    expect(JSON.parse(pages[1]!.cursor)).toMatchObject({ object: 'users', afterCursor: 'u2' });
    expect(warnings).toEqual([
      {
        message: 'Rate limited',
        fields: {
          source: 'support',
          status: 429,
          path: `${USERS_PATH}?cursor=u1`,
          attempt: 1,
          retryAfterMs: 7000,
        },
      },
    ]);
  });

  it('retries a 503 with Retry-After the same way and logs it as a 503', async () => {
    zd.answer(2, { status: 503, retryAfterSeconds: 7 });

    const pages = await readAll(new ZendeskReader(options()));

    const log = zd.requestLog();
    expect(log.map((e) => e.status)).toEqual([200, 503, 200]);
    expect(log[2]!.atMs - log[1]!.atMs).toBeGreaterThanOrEqual(7000);
    expect(pages.flatMap((p) => p.records)).toHaveLength(1412);
    const logged = warnings.map((w) => [w.message, w.fields.status]);
    expect(logged).toEqual([['Upstream request failed', 503]]);
  });

  it('hands a Retry-After beyond the cap to the activity as RateLimitError', async () => {
    zd.answer(2, { status: 429, retryAfterSeconds: 600 });
    const pages: SourcePage[] = [];

    const error = await (async () => {
      const reader = new ZendeskReader(options());
      for await (const page of reader.pages(null, new AbortController().signal)) {
        pages.push(page);
      }
    })().catch((err: unknown) => err);

    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterMs).toBe(600_000);
    expect((error as Error).message).toContain('Zendesk source "support"');
    expect(pages).toHaveLength(1);
    expect(JSON.parse(pages[0]!.cursor).afterCursor).toBe('u1');
    expect(time.clock.waits).toEqual([]);
  });

  it('stops waiting as soon as the signal aborts', async () => {
    zd.answer(2, { status: 429, retryAfterSeconds: 5 });
    const controller = new AbortController();
    const reader = new ZendeskReader(options({ sleep: undefined, now: undefined }));
    const startedMs = Date.now();

    const error = await (async () => {
      for await (const page of reader.pages(null, controller.signal)) {
        expect(page.records).toHaveLength(1000);
        setTimeout(() => controller.abort(), 50);
      }
    })().catch((err: unknown) => err);

    expect((error as Error).name).toBe('AbortError');
    expect(Date.now() - startedMs).toBeLessThan(3000);
    expect(zd.requestLog()).toHaveLength(2);
  });

  it('resumes from a saved page cursor without losing or repeating a record', async () => {
    const reader = new ZendeskReader(options({ pageSize: 500 }));
    const firstRun: SourcePage[] = [];
    for await (const page of reader.pages(null, new AbortController().signal)) {
      firstRun.push(page);
      break; // the process dies after staging page 1
    }

    const rest = await readAll(new ZendeskReader(options({ pageSize: 500 })), firstRun[0]!.cursor);

    const keys = [...firstRun, ...rest].flatMap((p) => p.records.map((r) => r.key));
    expect(keys).toHaveLength(1412);
    expect(new Set(keys).size).toBe(1412);
    expect(rest.map((p) => p.records.length)).toEqual([500, 412]);
    expect(zd.requestCount(`${USERS_PATH}?start_time=${START}&per_page=500`)).toBe(1);
  });

  it('reads nothing new after a finished run, then the changes made since', async () => {
    const finished = await readAll(new ZendeskReader(options()));
    const last = finished[finished.length - 1]!.cursor;

    const idle = await readAll(new ZendeskReader(options()), last);
    zd.put('users', [{ ...users()[3]!, name: 'Renamed', updated_at: iso(START + 5000) }]);
    const changed = await readAll(new ZendeskReader(options()), idle[0]!.cursor);

    expect(idle.map((p) => p.records.length)).toEqual([0]);
    const changes = changed.flatMap((p) => p.records.map((r) => [r.key, r.values.name]));
    expect(changes).toEqual([['1003', 'Renamed']]);
    zd.put('users', [users()[3]!]);
  });

  it('flattens values, reads updated_at as UTC and flags deleted users', async () => {
    const pages = await readAll(new ZendeskReader(options()));
    const records = pages.flatMap((p) => p.records);

    const first = records[0]!;
    expect(first.key).toBe('1000');
    expect(first.updatedAtMs).toBe(Date.UTC(2026, 0, 1, 0, 0, 0));
    expect(first.values).toMatchObject({
      id: '1000',
      name: 'User 0',
      active: 'true',
      'user_fields.plan': 'gold',
      tags: '["vip"]',
      updated_at: '2026-01-01T00:00:00Z',
    });
    expect(records[1]!.values['user_fields.plan']).toBe('');
    expect(first.origin).toBe(`users start_time=${START}`);
    expect(records.filter((r) => r.deleted).map((r) => r.key)).toEqual(
      Array.from({ length: 14 }, (_, i) => String(1050 + i * 100)),
    );
    expect(pages.flatMap((p) => p.rejects)).toEqual([]);
  });

  it('flags deleted tickets and reads them through the tickets cursor export', async () => {
    const pages = await readAll(new ZendeskReader(options({ object: 'tickets' })));

    expect(pages.flatMap((p) => p.records.map((r) => [r.key, r.deleted]))).toEqual([
      ['1', false],
      ['2', true],
    ]);
    expect(zd.requestLog()[0]!.path).toBe('/api/v2/incremental/tickets/cursor.json');
    expect(JSON.parse(pages[0]!.cursor).afterCursor).toMatch(/^t\d+$/);
  });

  it('rejects records without a key or a readable update time, naming the field', async () => {
    const noKey = new ZendeskReader(options({ object: 'tickets', recordKey: 'external_id' }));
    const badTime = new ZendeskReader(options({ object: 'tickets', updatedAt: 'subject' }));

    const noKeyPages = await readAll(noKey);
    const badTimePages = await readAll(badTime);

    const origin = `tickets start_time=${START}`;
    expect(noKeyPages[0]!.rejects).toEqual([
      { origin, field: 'external_id', reason: 'missing record key' },
      { origin, field: 'external_id', reason: 'missing record key' },
    ]);
    expect(badTimePages[0]!.rejects).toEqual([
      { origin, recordKey: '1', field: 'subject', reason: 'not an ISO 8601 timestamp' },
      { origin, recordKey: '2', field: 'subject', reason: 'not an ISO 8601 timestamp' },
    ]);
    expect(badTimePages[0]!.records).toEqual([]);
  });

  it('signs in with an OAuth token', async () => {
    const auth = { oauthToken: 'oauth-SECRET-1' };
    const pages = await readAll(new ZendeskReader(options({ object: 'tickets', auth })));

    expect(pages.flatMap((p) => p.records)).toHaveLength(2);
  });

  it('throws AuthError naming the source on 401, without the token', async () => {
    const auth = { email: EMAIL, apiToken: 'zd-SECRET-wrong' };
    const reader = new ZendeskReader(options({ auth }));

    const error = await readAll(reader).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(AuthError);
    const message = (error as Error).message;
    const expected = `rejected the credentials of ${EMAIL} (401 Couldn't authenticate you)`;
    expect(message).toBe(`Zendesk source "support" ${expected}`);
    expect(message).not.toContain('SECRET');
    expect(JSON.stringify(error)).not.toContain('SECRET');
    expect(zd.requestLog()).toHaveLength(1);
  });

  it('throws a retryable UpstreamError when 5xx answers outlast the retries', async () => {
    for (let n = 1; n <= 4; n += 1) zd.answer(n, { status: 502 });

    const error = await readAll(new ZendeskReader(options())).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).status).toBe(502);
    expect((error as UpstreamError).retryable).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain(`Zendesk source "support": GET ${USERS_PATH}`);
    expect(time.clock.waits).toEqual([1000, 2000, 4000]);
    expect(zd.requestLog()).toHaveLength(4);
  });

  it('throws a retryable UpstreamError when nothing answers on the port', async () => {
    const closed = await startZendeskEmulator();
    await closed.stop();

    const reader = new ZendeskReader(options({ baseUrl: closed.url, maxAttempts: 2 }));
    const error = await readAll(reader).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).status).toBeUndefined();
    expect((error as UpstreamError).retryable).toBe(true);
    expect((error as Error).message).toContain('failed 2 times (last: no HTTP answer)');
    expect(time.clock.waits).toEqual([1000]);
  });

  it('throws RateLimitError when 429s outlast the retries', async () => {
    for (let n = 1; n <= 4; n += 1) zd.answer(n, { status: 429, retryAfterSeconds: 2 });

    const error = await readAll(new ZendeskReader(options())).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterMs).toBe(2000);
    expect(time.clock.waits).toEqual([2000, 2000, 2000]);
  });

  it("throws a final UpstreamError on a 400 with Zendesk's description", async () => {
    const stale = JSON.stringify({ object: 'users', kind: 'cursor', afterCursor: 'nope' });

    const error = await readAll(new ZendeskReader(options()), stale).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).retryable).toBe(false);
    expect((error as Error).message).toContain('400 InvalidPaginationParameter: cursor is invalid');
  });

  it('refuses a saved cursor of another object', async () => {
    const cursor = JSON.stringify({ object: 'tickets', kind: 'cursor', afterCursor: 't1' });

    const error = await readAll(new ZendeskReader(options()), cursor).catch((err: unknown) => err);

    expect((error as Error).name).toBe('ConfigError');
    expect((error as Error).message).toContain('belongs to tickets, not users');
    expect(zd.requestLog()).toHaveLength(0);
  });
});
