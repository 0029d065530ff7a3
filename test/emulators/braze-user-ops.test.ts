import { startBrazeEmulator, type BrazeEmulator } from '../../emulators/braze';

const KEY = 'emulator-user-ops-key';

type Answer = { status: number; body: any; headers: Headers };

async function post(emu: BrazeEmulator, path: string, body: unknown, key = KEY): Promise<Answer> {
  const response = await fetch(`${emu.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? JSON.parse(text) : undefined,
    headers: response.headers,
  };
}

const mergeUpdate = (merge: string, keep: string) => ({
  identifier_to_merge: { external_id: merge },
  identifier_to_keep: { external_id: keep },
});

async function track(
  emu: BrazeEmulator,
  attributes: Array<Record<string, unknown>>,
): Promise<void> {
  const answer = await post(emu, '/users/track', { attributes });
  expect(answer.status).toBe(201);
}

describe('Braze emulator /users/merge', () => {
  let emu: BrazeEmulator;

  beforeAll(async () => {
    emu = await startBrazeEmulator({
      apiKeys: [KEY],
      identityRequestVolume: 4,
      identityTimeWindowMs: 60_000,
    });
  });
  afterAll(() => emu.stop());
  beforeEach(() => emu.reset());

  test('moves the attributes the kept profile lacks onto it and removes the merged profile', async () => {
    await track(emu, [
      { external_id: 'old', email: 'ada@example.org', home_city: 'London', plan: 'gold' },
      { external_id: 'new', email: 'ada@work.example', first_name: 'Ada' },
    ]);

    const answer = await post(emu, '/users/merge', { merge_updates: [mergeUpdate('old', 'new')] });

    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({ message: 'success' });
    expect(answer.headers.get('x-ratelimit-limit')).toBe('4');
    expect(answer.headers.get('x-ratelimit-remaining')).toBe('3');
    expect(emu.profile('old')).toBeUndefined();
    expect(emu.profile('new')).toEqual({
      external_id: 'new',
      email: 'ada@work.example',
      first_name: 'Ada',
      home_city: 'London',
      plan: 'gold',
    });
    expect(emu.stats()).toMatchObject({
      mergeRequests: 1,
      usersMerged: 1,
      profiles: 1,
      requests: 1,
    });
  });

  test('ignores a pair whose profile is already gone, so a repeated merge changes nothing', async () => {
    await track(emu, [
      { external_id: 'old', a: 1 },
      { external_id: 'new', b: 2 },
    ]);
    const body = { merge_updates: [mergeUpdate('old', 'new'), mergeUpdate('ghost', 'new')] };

    const first = await post(emu, '/users/merge', body);
    const again = await post(emu, '/users/merge', body);

    expect([first.status, again.status]).toEqual([201, 201]);
    expect(again.body).toEqual({ message: 'success' });
    expect(emu.profile('new')).toEqual({ external_id: 'new', a: 1, b: 2 });
    expect(emu.stats()).toMatchObject({ mergeRequests: 2, usersMerged: 1 });
  });

  test('refuses 51 merge updates and a pair without external ids, merging nothing', async () => {
    await track(emu, [
      { external_id: 'u0', a: 1 },
      { external_id: 'u1', b: 1 },
    ]);
    const many = Array.from({ length: 51 }, (_, i) => mergeUpdate(`u${i}`, 'u1'));

    const tooMany = await post(emu, '/users/merge', { merge_updates: many });
    const byAlias = await post(emu, '/users/merge', {
      merge_updates: [mergeUpdate('u0', 'u1'), { identifier_to_merge: { email: 'x@example.org' } }],
    });
    const self = await post(emu, '/users/merge', { merge_updates: [mergeUpdate('u1', 'u1')] });
    const notJson = await post(emu, '/users/merge', '{"merge_updates": [');

    expect(tooMany.status).toBe(400);
    expect(tooMany.body.message).toBe(
      'The max number of external_ids and aliases per request was exceeded',
    );
    expect(byAlias.status).toBe(400);
    expect(byAlias.body.message).toMatch(/merge_updates\[1\]/);
    expect(self.status).toBe(400);
    expect(notJson).toMatchObject({ status: 400, body: { message: 'Invalid JSON in body' } });
    expect(emu.stats()).toMatchObject({ usersMerged: 0, profiles: 2 });
  });

  test('answers 401 to an unknown key without using the rate window, and 429 past it', async () => {
    await track(emu, [
      { external_id: 'a', x: 1 },
      { external_id: 'b', y: 1 },
    ]);
    const body = { merge_updates: [mergeUpdate('a', 'b')] };

    const unknown = await post(emu, '/users/merge', body, 'wrong-key');
    const answers = [];
    for (let i = 0; i < 5; i += 1)
      answers.push(await post(emu, '/users/delete', { external_ids: ['zz'] }));

    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual({ message: 'Invalid API key' });
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201, 429]);
    expect(answers[4]!.body).toEqual({ message: 'API rate limit exceeded' });
    expect(answers[4]!.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(answers[4]!.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    expect(emu.profile('a')).toEqual({ external_id: 'a', x: 1 });
    expect(emu.stats()).toMatchObject({ rateLimited: 1, deleteRequests: 5, mergeRequests: 1 });
  });

  test('failNext answers merge requests with the injected status before any change', async () => {
    await track(emu, [
      { external_id: 'a', x: 1 },
      { external_id: 'b', y: 1 },
    ]);
    emu.failNext(1, 503);

    const failed = await post(emu, '/users/merge', { merge_updates: [mergeUpdate('a', 'b')] });
    const retried = await post(emu, '/users/merge', { merge_updates: [mergeUpdate('a', 'b')] });

    expect(failed.status).toBe(503);
    expect(retried.status).toBe(201);
    expect(emu.profile('a')).toBeUndefined();
    expect(emu.profile('b')).toEqual({ external_id: 'b', x: 1, y: 1 });
  });
});

describe('Braze emulator /users/delete', () => {
  let emu: BrazeEmulator;

  beforeAll(async () => {
    emu = await startBrazeEmulator({ apiKeys: [KEY] });
  });
  afterAll(() => emu.stop());
  beforeEach(() => emu.reset());

  test('deletes profiles by external id and counts only those that existed', async () => {
    await track(emu, [
      { external_id: 'a', x: 1 },
      { external_id: 'b', x: 2 },
      { external_id: 'c', x: 3 },
    ]);

    const answer = await post(emu, '/users/delete', { external_ids: ['a', 'c', 'missing'] });

    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({ deleted: 2 });
    expect(emu.profiles()).toEqual([{ external_id: 'b', x: 2 }]);
    expect(emu.stats()).toMatchObject({
      deleteRequests: 1,
      usersDeleted: 2,
      profiles: 1,
      dataPointsWritten: 3,
    });
  });

  test('refuses more than 50 ids, two identifier types, and empty ids', async () => {
    await track(emu, [{ external_id: 'u0', x: 1 }]);
    const ids = Array.from({ length: 51 }, (_, i) => `u${i}`);

    const tooMany = await post(emu, '/users/delete', { external_ids: ids });
    const mixed = await post(emu, '/users/delete', { external_ids: ['u0'], braze_ids: ['b'] });
    const empty = await post(emu, '/users/delete', { external_ids: [''] });
    const none = await post(emu, '/users/delete', {});

    expect(tooMany.status).toBe(400);
    expect(tooMany.body.message).toBe(
      'The max number of external_ids and aliases per request was exceeded',
    );
    expect(mixed.status).toBe(400);
    expect(mixed.body.message).toMatch(/^Only one of/);
    expect(empty.status).toBe(400);
    expect(none.status).toBe(400);
    expect(emu.profile('u0')).toEqual({ external_id: 'u0', x: 1 });
    expect(emu.stats()).toMatchObject({ usersDeleted: 0, deleteRequests: 4 });
  });

  test('admin stats over HTTP include the merge and delete counters, and reset clears them', async () => {
    await track(emu, [{ external_id: 'a', x: 1 }]);
    await post(emu, '/users/delete', { external_ids: ['a'] });

    const stats = await (await fetch(`${emu.url}/_emulator/stats`)).json();
    emu.reset();

    expect(stats).toMatchObject({
      deleteRequests: 1,
      usersDeleted: 1,
      mergeRequests: 0,
      profiles: 0,
    });
    expect(emu.stats()).toMatchObject({
      deleteRequests: 0,
      usersDeleted: 0,
      mergeRequests: 0,
      usersMerged: 0,
    });
  });
});
