import { startZendeskEmulator, type ZendeskEmulator } from '../../emulators/zendesk';
import type { ZendeskRecord } from '../../emulators/zendesk';

const EMAIL = 'admin@example.org';
const TOKEN = 'zd-token-emulator-test';
const START = 1767225600; // 2026-01-01T00:00:00Z
const USERS_PATH = '/api/v2/incremental/users/cursor.json';
const ORGS_PATH = '/api/v2/incremental/organizations.json';

/** The fields of export and error bodies these tests read. */
type Body = {
  users: ZendeskRecord[];
  organizations: ZendeskRecord[];
  after_cursor: string;
  end_time: number;
  error: string;
  [field: string]: unknown;
};

function users(count: number): ZendeskRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    name: `User ${i + 1}`,
    active: i % 100 !== 0,
    updated_at: new Date((START + i) * 1000).toISOString().replace('.000', ''),
  }));
}

describe('Zendesk emulator', () => {
  let zd: ZendeskEmulator;
  const basic = `Basic ${Buffer.from(`${EMAIL}/token:${TOKEN}`).toString('base64')}`;

  beforeAll(async () => {
    zd = await startZendeskEmulator({
      credentials: [{ email: EMAIL, apiToken: TOKEN }],
      oauthTokens: ['oauth-ok'],
      users: users(1412),
      organizations: [
        { id: 1, name: 'A', updated_at: '2026-01-01T00:00:00Z', deleted_at: null },
        { id: 2, name: 'B', updated_at: '2026-01-01T00:00:05Z', deleted_at: null },
        {
          id: 3,
          name: 'C',
          updated_at: '2026-01-01T00:00:05Z',
          deleted_at: '2026-01-02T00:00:00Z',
        },
        { id: 4, name: 'D', updated_at: '2026-01-01T00:00:09Z', deleted_at: null },
      ],
    });
  });

  afterAll(() => zd.stop());
  beforeEach(() => zd.reset());

  async function get(pathAndQuery: string, authorization = basic) {
    const res = await fetch(`${zd.url}${pathAndQuery}`, { headers: { authorization } });
    const body = (await res.json()) as Body;
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body };
  }

  it('listens on loopback with a random port', () => {
    expect(zd.url).toBe(`http://127.0.0.1:${zd.port}`);
    expect(zd.port).toBeGreaterThan(0);
  });

  it('pages users by cursor with after_cursor, after_url and end_of_stream', async () => {
    const first = await get(`${USERS_PATH}?start_time=${START}`);
    const second = await get(`${USERS_PATH}?cursor=${first.body.after_cursor}`);

    expect(first.status).toBe(200);
    expect(first.body.users).toHaveLength(1000);
    expect(first.body.users[0]).toMatchObject({
      id: 1,
      active: false,
      url: `${zd.url}/api/v2/users/1.json`,
    });
    expect(first.body).toMatchObject({
      after_cursor: 'u1',
      after_url: `${zd.url}${USERS_PATH}?cursor=u1`,
      end_of_stream: false,
    });
    expect(second.body.users).toHaveLength(412);
    expect(second.body.users[411]!.id).toBe(1412);
    expect(second.body).toMatchObject({ after_cursor: 'u2', end_of_stream: true });
  });

  it('gives the same cursor for the same position and shows later changes after it', async () => {
    const again = await get(`${USERS_PATH}?start_time=${START}`);
    zd.put('users', [{ id: 5, name: 'Renamed', updated_at: '2026-02-01T00:00:00Z' }]);
    const after = await get(`${USERS_PATH}?cursor=u2`);

    expect(again.body.after_cursor).toBe('u1');
    expect(after.body.users.map((u) => [u.id, u.name])).toEqual([[5, 'Renamed']]);
    expect(after.body.end_of_stream).toBe(true);
    zd.put('users', users(5).slice(4));
  });

  it('honours per_page and rejects an unknown cursor', async () => {
    const small = await get(`${USERS_PATH}?start_time=${START}&per_page=10`);
    const unknown = await get(`${USERS_PATH}?cursor=nope`);
    const tooBig = await get(`${USERS_PATH}?start_time=${START}&per_page=1001`);

    expect(small.body.users).toHaveLength(10);
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({
      error: 'InvalidPaginationParameter',
      description: 'cursor is invalid',
    });
    expect(tooBig.status).toBe(400);
  });

  it('pages organizations by end_time and next_page, never splitting a second', async () => {
    const first = await get(`${ORGS_PATH}?start_time=${START}&per_page=2`);
    const second = await get(`${ORGS_PATH}?start_time=${first.body.end_time}&per_page=2`);

    expect(first.body.organizations.map((o) => o.id)).toEqual([1, 2, 3]);
    expect(first.body).toMatchObject({
      count: 3,
      end_time: START + 5,
      end_of_stream: false,
      next_page: `${zd.url}${ORGS_PATH}?start_time=${START + 5}`,
    });
    expect(second.body.organizations.map((o) => o.id)).toEqual([2, 3, 4]);
    expect(second.body).toMatchObject({ count: 3, end_time: START + 9, end_of_stream: true });
  });

  it('answers 401 with Zendesk bodies for bad API tokens and bad OAuth tokens', async () => {
    const wrong = `Basic ${Buffer.from(`${EMAIL}/token:wrong`).toString('base64')}`;

    const badBasic = await get(`${USERS_PATH}?start_time=${START}`, wrong);
    const badBearer = await get(`${USERS_PATH}?start_time=${START}`, 'Bearer nope');
    const goodBearer = await get(`${USERS_PATH}?start_time=${START}`, 'Bearer oauth-ok');
    const none = await get(`${USERS_PATH}?start_time=${START}`, '');

    expect(badBasic).toMatchObject({ status: 401, body: { error: "Couldn't authenticate you" } });
    expect(badBearer.status).toBe(401);
    expect(badBearer.body.error).toBe('invalid_token');
    expect(goodBearer.status).toBe(200);
    expect(none.status).toBe(401);
  });

  it('answers the Nth request as scripted and counts requests per path and query', async () => {
    zd.answer(2, { status: 429, retryAfterSeconds: 7 });
    zd.answer(3, { status: 503, retryAfterSeconds: 3 });

    const one = await get(`${USERS_PATH}?start_time=${START}`);
    const two = await get(`${USERS_PATH}?cursor=u1`);
    const three = await get(`${USERS_PATH}?cursor=u1`);
    const four = await get(`${USERS_PATH}?cursor=u1`);

    expect(one.status).toBe(200);
    expect(two).toMatchObject({
      status: 429,
      retryAfter: '7',
      body: { error: 'APIRateLimitExceeded' },
    });
    expect(three).toMatchObject({ status: 503, retryAfter: '3' });
    expect(four.status).toBe(200);
    expect(zd.requestCount(`${USERS_PATH}?cursor=u1`)).toBe(3);
    expect(zd.requestCount(`${USERS_PATH}?start_time=${START}`)).toBe(1);
    expect(zd.requestLog().map((e) => [e.n, e.status])).toEqual([
      [1, 200],
      [2, 429],
      [3, 503],
      [4, 200],
    ]);
  });

  it('answers 404 with InvalidEndpoint for unknown paths', async () => {
    const res = await get('/api/v2/unknown.json');

    expect(res).toEqual({
      status: 404,
      retryAfter: null,
      body: { error: 'InvalidEndpoint', description: 'Not found' },
    });
  });
});
