import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BrazeClient,
  MAX_ATTRIBUTES_PER_REQUEST,
  toAttributeObject,
  type AttributeObject,
} from '../../connectors/braze';
import {
  AuthError,
  BadInputError,
  ConfigError,
  RateLimitError,
  UpstreamError,
} from '../../connectors/errors';
import { startBrazeEmulator, type BrazeEmulator } from '../../emulators/braze';

const KEY = 'braze-secret-key-1234567890';

/** A throwaway loopback server for answers the emulator does not give. */
async function rawServer(handler: RequestListener): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** Everything an error could leak through: message, name, cause and own fields. */
function leakSurface(error: Error): string {
  return [String(error), error.stack, JSON.stringify(error), String(error.cause)].join('\n');
}

/** Sends one small batch to `url` with a fresh client. */
const sendOne = (url: string) =>
  new BrazeClient({ endpoint: url, apiKey: KEY }).trackAttributes(users(1));

const users = (count: number, extra: Record<string, unknown> = {}): AttributeObject[] =>
  Array.from({ length: count }, (_, i) => toAttributeObject(`u${i}`, { plan: 'pro', ...extra }));

describe('BrazeClient against the emulator', () => {
  let emu: BrazeEmulator;
  let client: BrazeClient;

  beforeAll(async () => {
    emu = await startBrazeEmulator({ apiKeys: [KEY], requestVolume: 4, timeWindowMs: 60_000 });
    client = new BrazeClient({ endpoint: emu.url, apiKey: KEY });
  });
  afterAll(() => emu.stop());
  beforeEach(() => emu.reset());

  test('maps per-item errors to their indexes and the valid objects are stored', async () => {
    const batch: AttributeObject[] = [
      toAttributeObject('u1', { plan: 'pro' }),
      toAttributeObject('u2', { email: 'not-an-email' }),
      toAttributeObject('u3', { plan: 'basic' }),
      { external_id: 7 as unknown as string, plan: 'x' },
    ];

    const result = await client.trackAttributes(batch);

    expect(result.status).toBe(201);
    expect(result.attributesProcessed).toBe(2);
    expect(result.itemErrors).toEqual([
      { index: 1, reason: "The value provided for the 'email' field is not a valid email." },
      { index: 3, reason: "The value provided for the 'external_id' field is not a valid string." },
    ]);
    expect(result.rateLimit).toEqual({
      limit: 4,
      remaining: 3,
      resetAtMs: expect.any(Number),
    });
    expect(result.rateLimit.resetAtMs! - Date.now()).toBeGreaterThan(58_000);
    expect(emu.profile('u1')).toEqual({ external_id: 'u1', plan: 'pro' });
    expect(emu.profile('u2')).toBeUndefined();
    expect(emu.profile('u3')).toEqual({ external_id: 'u3', plan: 'basic' });
  });

  test('a wrong key is a final AuthError naming Braze and the status, not the key', async () => {
    const wrongKey = 'wrong-key-abcdef-0987654321';
    const bad = new BrazeClient({ endpoint: emu.url, apiKey: wrongKey });

    const error = await caught(bad.trackAttributes(users(1)));

    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({ code: 'AUTH', retryable: false });
    expect(error.message).toBe('Braze rejected the REST API key on /users/track (HTTP 401)');
    expect(leakSurface(error)).not.toContain(wrongKey);
    expect(emu.stats().profiles).toBe(0);
  });

  test('76 objects are refused with BadInputError before any request', async () => {
    const error = await caught(client.trackAttributes(users(MAX_ATTRIBUTES_PER_REQUEST + 1)));

    expect(error).toBeInstanceOf(BadInputError);
    expect(error).toMatchObject({ retryable: false });
    expect(error.message).toBe(
      'Braze /users/track batch has 76 attribute objects; the limit is 75',
    );
    expect(emu.stats().requests).toBe(0);
  });

  test('a body over 4 MB is refused with BadInputError before any request', async () => {
    const big = 'x'.repeat(60 * 1024);

    const error = await caught(client.trackAttributes(users(75, { big })));

    expect(error).toBeInstanceOf(BadInputError);
    expect(error.message).toMatch(/^Braze \/users\/track body is \d+ bytes; the limit is 4194304$/);
    expect(emu.stats().requests).toBe(0);
  });

  test('past the volume Braze answers 429: RateLimitError within the window', async () => {
    for (let i = 0; i < 4; i += 1) await client.trackAttributes(users(1));

    const error = await caught(client.trackAttributes(users(1)));

    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ code: 'RATE_LIMIT', retryable: true });
    const { retryAfterMs } = error as RateLimitError;
    expect(retryAfterMs).toBeGreaterThan(58_000);
    expect(retryAfterMs).toBeLessThanOrEqual(61_000);
    expect(emu.stats()).toMatchObject({ requests: 5, acceptedRequests: 4, rateLimited: 1 });
  });

  test('a 500 is a retryable UpstreamError and the next call goes through', async () => {
    emu.failNext(1, 500);

    const error = await caught(client.trackAttributes(users(1)));
    const retried = await client.trackAttributes(users(1));

    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ status: 500, retryable: true, code: 'UPSTREAM' });
    expect(error.message).toBe('Braze /users/track answered HTTP 500');
    expect(retried.status).toBe(201);
    expect(emu.profile('u0')).toEqual({ external_id: 'u0', plan: 'pro' });
  });

  test('a 400 is a final UpstreamError, injected or because no object was valid', async () => {
    emu.failNext(1, 400);
    const injected = await caught(client.trackAttributes(users(1)));
    const allInvalid = await caught(
      client.trackAttributes([toAttributeObject('u1', { email: 'nope' })]),
    );

    expect(injected).toMatchObject({ name: 'UpstreamError', status: 400, retryable: false });
    expect(allInvalid).toMatchObject({ name: 'UpstreamError', status: 400, retryable: false });
    expect(allInvalid.message).not.toContain('nope');
    expect(emu.stats().profiles).toBe(0);
  });

  test('null unsets an attribute', async () => {
    await client.trackAttributes([toAttributeObject('u1', { plan: 'pro', city: 'Lyon' })]);

    await client.trackAttributes([toAttributeObject('u1', { city: null })]);

    expect(emu.profile('u1')).toEqual({ external_id: 'u1', plan: 'pro' });
  });

  test('data points: 3 objects x 2 custom attributes plus one null is 7', async () => {
    await client.trackAttributes([
      toAttributeObject('a', { plan: 'pro', score: 1 }),
      toAttributeObject('b', { plan: 'free', score: 2, country: 'FR' }),
      toAttributeObject('c', { plan: 'pro', score: 3 }),
    ]);
    await client.trackAttributes([toAttributeObject('a', { score: null })]);

    expect(emu.stats().dataPointsWritten).toBe(7);
  });

  test('export/ids reads back what the client sent', async () => {
    await client.trackAttributes([
      toAttributeObject('u1', { first_name: 'Léa', plan: 'pro', tags: ['a', 'b'] }),
    ]);

    const response = await fetch(`${emu.url}/users/export/ids`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ external_ids: ['u1', 'u2'] }),
    });

    expect(await response.json()).toEqual({
      message: 'success',
      users: [
        {
          external_id: 'u1',
          first_name: 'Léa',
          custom_attributes: { plan: 'pro', tags: ['a', 'b'] },
        },
      ],
      invalid_user_ids: ['u2'],
    });
  });

  test('stats through the admin HTTP endpoint match the traffic', async () => {
    await client.trackAttributes(users(3));
    await caught(client.trackAttributes(users(76)));

    const stats = await (await fetch(`${emu.url}/_emulator/stats`)).json();

    expect(stats).toEqual({
      requests: 1,
      acceptedRequests: 1,
      rateLimited: 0,
      attributesReceived: 3,
      dataPointsWritten: 3,
      eventsRecorded: 0,
      purchasesRecorded: 0,
      profiles: 3,
      mergeRequests: 0,
      usersMerged: 0,
      deleteRequests: 0,
      usersDeleted: 0,
      renameRequests: 0,
      usersRenamed: 0,
    });
  });

  test('a timeout aborts the in-flight request: UpstreamError without status', async () => {
    emu.setResponseDelay(5_000);
    const impatient = new BrazeClient({ endpoint: emu.url, apiKey: KEY, timeoutMs: 200 });
    const started = Date.now();

    const error = await caught(impatient.trackAttributes(users(1)));
    emu.setResponseDelay(0);

    expect(Date.now() - started).toBeLessThan(2_000);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ status: undefined, retryable: true });
    expect(error.message).toBe('Braze /users/track request timed out after 200 ms');
    // Braze had already taken the batch: a retry must be safe to repeat.
    expect(emu.requestLog().map((entry) => entry.status)).toEqual([201]);
  });

  test("the caller's signal aborts the request too", async () => {
    emu.setResponseDelay(5_000);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);

    const error = await caught(client.trackAttributes(users(1), { signal: controller.signal }));
    emu.setResponseDelay(0);

    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.message).toBe('Braze /users/track request was aborted by the caller');
  });
});

describe('BrazeClient against odd servers', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(closeServer));
  });

  async function answering(status: number, headers: Record<string, string>, body = '{}') {
    const seen: Array<Record<string, unknown>> = [];
    const { url, server } = await rawServer((req, res) => {
      seen.push({ method: req.method, url: req.url, ...req.headers });
      req.resume();
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
    });
    servers.push(server);
    return { url, seen };
  }

  test('sends a JSON POST to /users/track with the Bearer key', async () => {
    const { url, seen } = await answering(201, {}, '{"message":"success"}');

    const result = await new BrazeClient({ endpoint: `${url}/`, apiKey: KEY }).trackAttributes(
      users(2),
    );

    expect(seen).toEqual([
      expect.objectContaining({
        method: 'POST',
        url: '/users/track',
        authorization: `Bearer ${KEY}`,
        'content-type': 'application/json',
      }),
    ]);
    // No counter in the body: every object not named in an error was queued.
    expect(result).toEqual({ status: 201, attributesProcessed: 2, itemErrors: [], rateLimit: {} });
  });

  test('a 503 with Retry-After stays an UpstreamError(503), not a rate limit', async () => {
    const { url } = await answering(503, { 'Retry-After': '7' });

    const error = await caught(sendOne(url));

    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).not.toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ status: 503, retryable: true });
  });

  test('a 403 is an AuthError', async () => {
    const { url } = await answering(403, {}, '{"message":"Access Denied"}');

    const error = await caught(sendOne(url));

    expect(error).toBeInstanceOf(AuthError);
    expect(error.message).toBe('Braze rejected the REST API key on /users/track (HTTP 403)');
  });

  test('429 waits Retry-After seconds, else until X-RateLimit-Reset, never under 1 s', async () => {
    const nowMs = 1_767_225_600_000;
    const reset = String(nowMs / 1000 + 12);
    const withRetryAfter = await answering(429, { 'Retry-After': '7', 'X-RateLimit-Reset': reset });
    const resetOnly = await answering(429, { 'x-ratelimit-reset': reset });
    const resetPast = await answering(429, { 'X-RateLimit-Reset': String(nowMs / 1000 - 5) });
    const bare = await answering(429, {});
    const wait = async (url: string): Promise<number> => {
      const client = new BrazeClient({ endpoint: url, apiKey: KEY, now: () => nowMs });
      const error = await caught(client.trackAttributes(users(1)));
      expect(error).toBeInstanceOf(RateLimitError);
      return (error as RateLimitError).retryAfterMs;
    };

    expect(await wait(withRetryAfter.url)).toBe(7_000);
    expect(await wait(resetOnly.url)).toBe(12_000);
    expect(await wait(resetPast.url)).toBe(1_000);
    expect(await wait(bare.url)).toBe(3_000);
  });

  test('rate-limit headers are read whatever their case', async () => {
    const { url } = await answering(
      201,
      {
        'x-ratelimit-limit': '3000',
        'X-RateLimit-Remaining': '2999',
        'X-RATELIMIT-RESET': '1767225603',
      },
      '{"message":"success","attributes_processed":1}',
    );

    const result = await new BrazeClient({ endpoint: url, apiKey: KEY }).trackAttributes(users(1));

    expect(result.rateLimit).toEqual({
      limit: 3000,
      remaining: 2999,
      resetAtMs: 1_767_225_603_000,
    });
  });

  test('a refused connection is a retryable UpstreamError without status or key', async () => {
    const { url, server } = await rawServer(() => undefined);
    await closeServer(server);

    const error = await caught(sendOne(url));

    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ status: undefined, retryable: true });
    expect(error.message).toBe(
      'Braze /users/track request failed before a response (network error)',
    );
    expect(leakSurface(error)).not.toContain(KEY);
  });

  test('a redirect is not followed (it would carry the key elsewhere) and is final', async () => {
    const { url, seen } = await answering(307, { location: '/elsewhere' });

    const error = await caught(sendOne(url));

    expect(error).toMatchObject({ name: 'UpstreamError', status: 307, retryable: false });
    expect(seen).toHaveLength(1);
  });
});

describe('BrazeClient configuration and mapping', () => {
  test('rejects endpoints with credentials or odd schemes and empty keys, naming no secret', () => {
    const withCredentials = () =>
      new BrazeClient({ endpoint: 'https://user:hunter2@rest.iad-01.braze.com', apiKey: KEY });

    expect(withCredentials).toThrow(ConfigError);
    expect(withCredentials).toThrow('Braze endpoint must not contain credentials');
    expect(() => new BrazeClient({ endpoint: 'ftp://x', apiKey: KEY })).toThrow(ConfigError);
    expect(() => new BrazeClient({ endpoint: 'not a url', apiKey: KEY })).toThrow(ConfigError);
    expect(() => new BrazeClient({ endpoint: 'https://x', apiKey: ' ' })).toThrow(ConfigError);
  });

  test('an empty batch is bad input', async () => {
    const client = new BrazeClient({ endpoint: 'http://127.0.0.1:9', apiKey: KEY });

    await expect(client.trackAttributes([])).rejects.toBeInstanceOf(BadInputError);
  });

  test('toAttributeObject puts the identifier first, keeps nulls and does not mutate', () => {
    const input = { external_id: 'spoofed', plan: 'pro', city: null };

    const object = toAttributeObject('u1', input);

    expect(object).toEqual({ external_id: 'u1', plan: 'pro', city: null });
    expect(Object.keys(object)[0]).toBe('external_id');
    expect(input).toEqual({ external_id: 'spoofed', plan: 'pro', city: null });
    expect(() => toAttributeObject('', {})).toThrow(BadInputError);
  });
});
