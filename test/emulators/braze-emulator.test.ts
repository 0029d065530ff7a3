import { startBrazeEmulator, type BrazeEmulator } from '../../emulators/braze';

const KEY = 'emulator-test-key';

type Answer = { status: number; body: any; headers: Headers };

async function post(emu: BrazeEmulator, path: string, body: unknown, key = KEY): Promise<Answer> {
  const response = await fetch(`${emu.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : undefined;
  return { status: response.status, body: parsed, headers: response.headers };
}

async function get(emu: BrazeEmulator, path: string): Promise<Answer> {
  const response = await fetch(`${emu.url}${path}`);
  return { status: response.status, body: await response.json(), headers: response.headers };
}

describe('Braze emulator /users/track', () => {
  let emu: BrazeEmulator;

  beforeAll(async () => {
    emu = await startBrazeEmulator({ apiKeys: [KEY], requestVolume: 3, timeWindowMs: 60_000 });
  });
  afterAll(() => emu.stop());
  beforeEach(() => emu.reset());

  test('listens on loopback on a random port', () => {
    expect(emu.url).toBe(`http://127.0.0.1:${emu.port}`);
    expect(emu.port).toBeGreaterThan(0);
  });

  test('answers 401 to a missing or unknown key, with rate headers, using no quota', async () => {
    const unknown = await post(emu, '/users/track', { attributes: [] }, 'wrong-key');
    const missing = await fetch(`${emu.url}/users/track`, { method: 'POST', body: '{}' });

    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual({ message: 'Invalid API key' });
    expect(unknown.headers.get('x-ratelimit-limit')).toBe('3');
    expect(unknown.headers.get('x-ratelimit-remaining')).toBe('3');
    expect(missing.status).toBe(401);
    expect(emu.stats()).toMatchObject({ requests: 2, acceptedRequests: 0, profiles: 0 });
  });

  test('answers 400 to a body that is not JSON', async () => {
    const answer = await post(emu, '/users/track', '{"attributes": [');

    expect(answer.status).toBe(400);
    expect(emu.requestLog()).toEqual([
      { at: expect.any(Number), status: 400, attributeCount: 0, externalIds: [] },
    ]);
  });

  test('refuses 76 objects in one array as max input length and stores nothing', async () => {
    const attributes = Array.from({ length: 76 }, (_, i) => ({ external_id: `u${i}`, a: 1 }));
    const events = attributes.map(({ external_id }) => ({ external_id, name: 'e', time: 't' }));

    const tooManyAttributes = await post(emu, '/users/track', { attributes });
    const tooManyEvents = await post(emu, '/users/track', { events });

    expect(tooManyAttributes.status).toBe(400);
    expect(tooManyAttributes.body.message).toBe(
      "Max Input Length Exceeded: 'attributes' has 76 objects; the limit is 75",
    );
    expect(tooManyEvents.status).toBe(400);
    expect(tooManyEvents.body.message).toMatch(/'events' has 76/);
    expect(emu.stats()).toMatchObject({ profiles: 0, attributesReceived: 0, dataPointsWritten: 0 });
  });

  test('answers 413 to a body over 4 MB', async () => {
    const big = 'x'.repeat(4 * 1024 * 1024);
    const answer = await post(emu, '/users/track', { attributes: [{ external_id: 'u1', big }] });

    expect(answer.status).toBe(413);
    expect(emu.profile('u1')).toBeUndefined();
  });

  test('reports invalid objects by index in a 201 and applies the valid ones', async () => {
    const answer = await post(emu, '/users/track', {
      attributes: [
        { external_id: 'u1', plan: 'pro' },
        { plan: 'free' },
        { external_id: 'u2', email: 'not-an-email' },
        { external_id: 42, plan: 'x' },
        { external_id: 'u3', plan: 'basic' },
      ],
    });

    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({
      message: 'success',
      attributes_processed: 2,
      errors: [
        {
          type: "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required",
          input_array: 'attributes',
          index: 1,
        },
        {
          type: "The value provided for the 'email' field is not a valid email.",
          input_array: 'attributes',
          index: 2,
        },
        {
          type: "The value provided for the 'external_id' field is not a valid string.",
          input_array: 'attributes',
          index: 3,
        },
      ],
    });
    expect(emu.profiles()).toEqual([
      { external_id: 'u1', plan: 'pro' },
      { external_id: 'u3', plan: 'basic' },
    ]);
    expect(emu.stats().attributesReceived).toBe(5);
  });

  test('answers a fatal 400 when no object is valid', async () => {
    const answer = await post(emu, '/users/track', {
      attributes: [{ external_id: 'u1', email: 'bad@' }],
    });

    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      message: "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields.",
      errors: [
        {
          type: "The value provided for the 'email' field is not a valid email.",
          input_array: 'attributes',
          index: 0,
        },
      ],
    });
    expect(emu.stats().profiles).toBe(0);
  });

  test('applies null unsets, inc, array replace, add and remove', async () => {
    await post(emu, '/users/track', {
      attributes: [{ external_id: 'u1', plan: 'pro', visits: 2, tags: ['a', 'b', 'a', 'c'] }],
    });
    await post(emu, '/users/track', {
      attributes: [
        { external_id: 'u1', plan: null, visits: { inc: 3 }, tags: { add: ['a', 'd'] } },
        { external_id: 'u1', tags: { remove: ['b'] }, fresh: { inc: -1 } },
      ],
    });

    expect(emu.profile('u1')).toEqual({
      external_id: 'u1',
      visits: 5,
      tags: ['c', 'a', 'd'],
      fresh: -1,
    });
  });

  test('honours _update_existing_only and _merge_objects', async () => {
    await post(emu, '/users/track', {
      attributes: [
        { external_id: 'ghost', _update_existing_only: true, plan: 'pro' },
        { external_id: 'u1', pet: { name: 'Rex', age: 3 } },
        { external_id: 'u1', _merge_objects: true, pet: { age: 4, toy: 'ball' } },
      ],
    });

    expect(emu.profile('ghost')).toBeUndefined();
    expect(emu.profile('u1')).toEqual({
      external_id: 'u1',
      pet: { name: 'Rex', age: 4, toy: 'ball' },
    });
  });

  test('counts a data point per key set or unset, except identifiers and free keys', async () => {
    await post(emu, '/users/track', {
      attributes: [
        { external_id: 'u1', plan: 'pro', score: 10 },
        { external_id: 'u2', plan: 'free', score: 3, country: 'FR', email_subscribe: 'opted_in' },
        { external_id: 'u3', plan: 'pro', score: 7, language: 'fr', push_subscribe: 'subscribed' },
      ],
    });
    const afterSets = emu.stats().dataPointsWritten;
    await post(emu, '/users/track', {
      attributes: [{ external_id: 'u1', score: null, tags: { add: ['x', 'y'] } }],
    });

    // 3 objects x 2 custom attributes; country, language and subscriptions are free.
    expect(afterSets).toBe(6);
    // One unset plus one point per added array value.
    expect(emu.stats().dataPointsWritten).toBe(6 + 1 + 2);
  });

  test('stores email-only objects by email and routes later email objects to them', async () => {
    await post(emu, '/users/track', { attributes: [{ email: 'lea@example.org', city: 'Lyon' }] });
    await post(emu, '/users/track', { attributes: [{ email: 'LEA@example.org', vip: true }] });

    expect(emu.profiles()).toEqual([{ email: 'lea@example.org', city: 'Lyon', vip: true }]);
    expect(emu.stats()).toMatchObject({ profiles: 1, dataPointsWritten: 2 });
  });

  test('answers 429 past the volume, with x-ratelimit headers for the window', async () => {
    const before = Math.floor(Date.now() / 1000);
    const answers: Answer[] = [];
    for (let i = 0; i < 4; i += 1) {
      const body = { attributes: [{ external_id: `r${i}`, n: i }] };
      answers.push(await post(emu, '/users/track', body));
    }

    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 429]);
    const remaining = answers.map((a) => a.headers.get('x-ratelimit-remaining'));
    expect(remaining).toEqual(['2', '1', '0', '0']);
    const reset = Number(answers[3]?.headers.get('x-ratelimit-reset'));
    expect(reset).toBeGreaterThanOrEqual(before + 60);
    expect(reset).toBeLessThanOrEqual(before + 62);
    expect(emu.profile('r3')).toBeUndefined();
    expect(emu.stats()).toMatchObject({ requests: 4, acceptedRequests: 3, rateLimited: 1 });
  });

  test('failNext answers the next requests with the status before touching the store', async () => {
    emu.failNext(2, 503);

    const first = await post(emu, '/users/track', { attributes: [{ external_id: 'u1', a: 1 }] });
    const second = await post(emu, '/users/track', { attributes: [{ external_id: 'u1', a: 2 }] });
    const third = await post(emu, '/users/track', { attributes: [{ external_id: 'u1', a: 3 }] });

    expect([first.status, second.status, third.status]).toEqual([503, 503, 201]);
    expect(first.body).toEqual({ message: 'Service Unavailable' });
    expect(emu.profile('u1')).toEqual({ external_id: 'u1', a: 3 });
    expect(emu.requestLog().map((e) => [e.status, e.externalIds])).toEqual([
      [503, ['u1']],
      [503, ['u1']],
      [201, ['u1']],
    ]);
  });

  test('responseDelayMs holds the answer after storing the data', async () => {
    emu.setResponseDelay(300);
    const started = Date.now();
    const pending = post(emu, '/users/track', { attributes: [{ external_id: 'slow', a: 1 }] });
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(emu.profile('slow')).toEqual({ external_id: 'slow', a: 1 });
    expect((await pending).status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    emu.setResponseDelay(0);
  });

  test('answers 404 on unknown paths', async () => {
    const answer = await post(emu, '/users/unknown', {});

    expect(answer.status).toBe(404);
  });
});

describe('Braze emulator read-back and admin endpoints', () => {
  let emu: BrazeEmulator;

  beforeAll(async () => {
    emu = await startBrazeEmulator({ apiKeys: [KEY] });
    await post(emu, '/users/track', {
      attributes: [
        { external_id: 'u1', first_name: 'Léa', email: 'lea@example.org', plan: 'pro', ltv: 12.5 },
        { external_id: 'u/2', plan: 'free' },
      ],
    });
  });
  afterAll(() => emu.stop());

  test('/users/export/ids splits standard and custom attributes, lists unknown ids', async () => {
    const answer = await post(emu, '/users/export/ids', { external_ids: ['u1', 'nobody'] });

    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({
      message: 'success',
      users: [
        {
          external_id: 'u1',
          first_name: 'Léa',
          email: 'lea@example.org',
          custom_attributes: { plan: 'pro', ltv: 12.5 },
        },
      ],
      invalid_user_ids: ['nobody'],
    });
  });

  test('/users/export/ids honours fields_to_export and refuses more than 50 ids', async () => {
    const some = await post(emu, '/users/export/ids', {
      external_ids: ['u1'],
      fields_to_export: ['first_name'],
    });
    const tooMany = await post(emu, '/users/export/ids', {
      external_ids: Array.from({ length: 51 }, (_, i) => `u${i}`),
    });
    const noKey = await post(emu, '/users/export/ids', { external_ids: ['u1'] }, 'nope');

    expect(some.body.users).toEqual([{ external_id: 'u1', first_name: 'Léa' }]);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.message).toBe(
      'The max number of external_ids and aliases per request was exceeded',
    );
    expect(noKey.status).toBe(401);
  });

  test('GET /_emulator/stats, /users and /users/<id> serve other processes', async () => {
    const stats = await get(emu, '/_emulator/stats');
    const users = await get(emu, '/_emulator/users');
    const one = await get(emu, `/_emulator/users/${encodeURIComponent('u/2')}`);
    const missing = await get(emu, '/_emulator/users/nobody');

    expect(stats.body).toEqual({
      requests: 1,
      acceptedRequests: 1,
      rateLimited: 0,
      attributesReceived: 2,
      dataPointsWritten: 5,
      eventsRecorded: 0,
      purchasesRecorded: 0,
      profiles: 2,
      mergeRequests: 0,
      usersMerged: 0,
      deleteRequests: 0,
      usersDeleted: 0,
      renameRequests: 0,
      usersRenamed: 0,
    });
    expect(users.body).toHaveLength(2);
    expect(one.body).toEqual({ external_id: 'u/2', plan: 'free' });
    expect(missing.status).toBe(404);
  });

  test('POST /_emulator/reset empties the store and the counters', async () => {
    const answer = await post(emu, '/_emulator/reset', {});

    expect(answer.status).toBe(200);
    expect(emu.stats()).toEqual({
      requests: 0,
      acceptedRequests: 0,
      rateLimited: 0,
      attributesReceived: 0,
      dataPointsWritten: 0,
      eventsRecorded: 0,
      purchasesRecorded: 0,
      profiles: 0,
      mergeRequests: 0,
      usersMerged: 0,
      deleteRequests: 0,
      usersDeleted: 0,
      renameRequests: 0,
      usersRenamed: 0,
    });
  });
});

test('stop() ends delayed answers instead of waiting for them', async () => {
  const emu = await startBrazeEmulator({ apiKeys: [KEY], responseDelayMs: 60_000 });
  const pending = post(emu, '/users/track', { attributes: [{ external_id: 'u1' }] }).catch(
    (error: unknown) => error,
  );
  await new Promise((resolve) => setTimeout(resolve, 100));

  const started = Date.now();
  await emu.stop();

  expect(Date.now() - started).toBeLessThan(1000);
  // fetch rejects with a TypeError from Node's realm, which jest's instanceof cannot see.
  expect(await pending).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
});
