import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BrazeClient, toAttributeObject } from '../../connectors/braze';
import { AuthError, BadInputError, RateLimitError, UpstreamError } from '../../connectors/errors';
import { startBrazeEmulator, type BrazeEmulator } from '../../emulators/braze';

const KEY = 'braze-user-ops-secret-0987654321';

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

function leakSurface(error: Error): string {
  return [String(error), error.stack, JSON.stringify(error), String(error.cause)].join('\n');
}

/** A loopback server that records each request's path and body and answers `answer`. */
async function recordingServer(answer: {
  status: number;
  body: string;
  headers?: Record<string, string>;
}) {
  const seen: Array<{ path: string; auth: string | undefined; body: unknown }> = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        path: req.url ?? '',
        auth: req.headers.authorization,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      });
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { url: `http://127.0.0.1:${port}`, seen, close };
}

describe('BrazeClient merges and deletes against the emulator', () => {
  let emu: BrazeEmulator;
  let client: BrazeClient;

  beforeAll(async () => {
    emu = await startBrazeEmulator({
      apiKeys: [KEY],
      identityRequestVolume: 3,
      identityTimeWindowMs: 60_000,
    });
    client = new BrazeClient({ endpoint: emu.url, apiKey: KEY });
  });
  afterAll(() => emu.stop());
  beforeEach(async () => {
    emu.reset();
    await client.trackAttributes([
      toAttributeObject('m-old', { email: 'ada@example.org', home_city: 'London' }),
      toAttributeObject('m-new', { email: 'ada@work.example' }),
      toAttributeObject('m-gone', { email: 'gone@example.org' }),
    ]);
  });

  test('mergeUsers merges the profile into the kept one and reads the rate headers', async () => {
    const result = await client.mergeUsers([{ mergeExternalId: 'm-old', keepExternalId: 'm-new' }]);

    expect(result.status).toBe(201);
    expect(result.rateLimit).toMatchObject({ limit: 3, remaining: 2 });
    expect(emu.profile('m-old')).toBeUndefined();
    expect(emu.profile('m-new')).toEqual({
      external_id: 'm-new',
      email: 'ada@work.example',
      home_city: 'London',
    });
  });

  test("deleteUsers deletes the profiles and returns Braze's count", async () => {
    const result = await client.deleteUsers(['m-gone', 'never-sent']);

    expect(result).toMatchObject({ status: 201, deleted: 1 });
    expect(emu.profile('m-gone')).toBeUndefined();
    expect(emu.stats()).toMatchObject({ profiles: 2, usersDeleted: 1 });
  });

  test('refuses an empty list, 51 items, empty ids and a self-merge before any request', async () => {
    const pairs = Array.from({ length: 51 }, (_, i) => ({
      mergeExternalId: `a${i}`,
      keepExternalId: 'k',
    }));
    const ids = Array.from({ length: 51 }, (_, i) => `a${i}`);

    const errors = [
      await caught(client.mergeUsers([])),
      await caught(client.mergeUsers(pairs)),
      await caught(client.mergeUsers([{ mergeExternalId: 'k', keepExternalId: 'k' }])),
      await caught(client.mergeUsers([{ mergeExternalId: '', keepExternalId: 'k' }])),
      await caught(client.deleteUsers([])),
      await caught(client.deleteUsers(ids)),
      await caught(client.deleteUsers(['a', ''])),
    ];

    for (const error of errors) expect(error).toBeInstanceOf(BadInputError);
    expect(errors[1]!.message).toBe('Braze /users/merge request has 51 merges; the limit is 50');
    expect(errors[5]!.message).toBe(
      'Braze /users/delete request has 51 external ids; the limit is 50',
    );
    expect(emu.stats()).toMatchObject({ mergeRequests: 0, deleteRequests: 0 });
  });

  test('a rejected key is an AuthError naming the path and never the key', async () => {
    const wrong = new BrazeClient({ endpoint: emu.url, apiKey: `${KEY}-wrong` });

    const error = await caught(wrong.deleteUsers(['m-gone']));

    expect(error).toBeInstanceOf(AuthError);
    expect(error.message).toBe('Braze rejected the REST API key on /users/delete (HTTP 401)');
    expect(leakSurface(error)).not.toContain(KEY);
    expect(emu.profile('m-gone')).toBeDefined();
  });

  test('past the shared merge/delete limit a 429 becomes a RateLimitError with the reset wait', async () => {
    await client.deleteUsers(['x1']);
    await client.deleteUsers(['x2']);
    await client.mergeUsers([{ mergeExternalId: 'x3', keepExternalId: 'm-new' }]);

    const error = await caught(
      client.mergeUsers([{ mergeExternalId: 'm-old', keepExternalId: 'm-new' }]),
    );

    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.message).toMatch(/^Braze rate limit reached on \/users\/merge \(HTTP 429\)/);
    expect((error as RateLimitError).retryAfterMs).toBeGreaterThan(50_000);
    expect((error as RateLimitError).retryAfterMs).toBeLessThanOrEqual(61_000);
    expect(emu.profile('m-old')).toBeDefined();
  });

  test('a 503 is a retryable UpstreamError and a 400 a final one', async () => {
    emu.failNext(1, 503);
    const unavailable = await caught(client.deleteUsers(['m-gone']));
    emu.failNext(1, 400);
    const bad = await caught(
      client.mergeUsers([{ mergeExternalId: 'm-old', keepExternalId: 'm-new' }]),
    );

    expect(unavailable).toBeInstanceOf(UpstreamError);
    expect(unavailable).toMatchObject({ status: 503, retryable: true });
    expect(unavailable.message).toBe('Braze /users/delete answered HTTP 503');
    expect(bad).toMatchObject({ status: 400, retryable: false });
  });
});

describe('BrazeClient request bodies', () => {
  test("sends Braze's merge_updates and external_ids bodies with the bearer key", async () => {
    const server = await recordingServer({ status: 201, body: '{"message":"success"}' });
    const client = new BrazeClient({ endpoint: `${server.url}/`, apiKey: KEY });
    try {
      await client.mergeUsers([{ mergeExternalId: 'old', keepExternalId: 'new' }]);
      const deleted = await client.deleteUsers(['gone']);

      expect(server.seen).toEqual([
        {
          path: '/users/merge',
          auth: `Bearer ${KEY}`,
          body: {
            merge_updates: [
              {
                identifier_to_merge: { external_id: 'old' },
                identifier_to_keep: { external_id: 'new' },
              },
            ],
          },
        },
        { path: '/users/delete', auth: `Bearer ${KEY}`, body: { external_ids: ['gone'] } },
      ]);
      // The answer had no count, so none is reported rather than a guess.
      expect(deleted).not.toHaveProperty('deleted');
    } finally {
      await server.close();
    }
  });

  test('a 429 with Retry-After waits that many seconds', async () => {
    const server = await recordingServer({
      status: 429,
      body: '{"message":"API rate limit exceeded"}',
      headers: { 'retry-after': '7' },
    });
    const client = new BrazeClient({ endpoint: server.url, apiKey: KEY });
    try {
      const error = await caught(client.deleteUsers(['gone']));

      expect(error).toBeInstanceOf(RateLimitError);
      expect((error as RateLimitError).retryAfterMs).toBe(7000);
    } finally {
      await server.close();
    }
  });
});
