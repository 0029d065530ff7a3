import { startBrazeEmulator, type BrazeEmulator } from '../../emulators/braze';

const KEY = 'emulator-rename-key';

type Answer = { status: number; body: any; headers: Headers };

async function post(emu: BrazeEmulator, path: string, body: unknown, key = KEY): Promise<Answer> {
  const response = await fetch(`${emu.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? JSON.parse(text) : undefined,
    headers: response.headers,
  };
}

const rename = (current: string, next: string) => ({
  current_external_id: current,
  new_external_id: next,
});

async function track(emu: BrazeEmulator, body: Record<string, unknown>): Promise<void> {
  expect((await post(emu, '/users/track', body)).status).toBe(201);
}

describe('Braze emulator /users/external_ids/rename', () => {
  let emu: BrazeEmulator;

  beforeAll(async () => {
    emu = await startBrazeEmulator({
      apiKeys: [KEY],
      renameRequestVolume: 3,
      renameTimeWindowMs: 60_000,
    });
  });
  afterAll(() => emu.stop());
  beforeEach(() => emu.reset());

  test('gives the profile a new primary id and keeps its attributes, events and purchases', async () => {
    await track(emu, {
      attributes: [{ external_id: 'ada@old.example', first_name: 'Ada', home_city: 'London' }],
      events: [{ external_id: 'ada@old.example', name: 'login', time: '2026-01-02T10:00:00Z' }],
      purchases: [
        {
          external_id: 'ada@old.example',
          product_id: 'cd',
          currency: 'EUR',
          price: 12.5,
          quantity: 2,
          time: '2026-01-03T10:00:00Z',
        },
      ],
    });

    const answer = await post(emu, '/users/external_ids/rename', {
      external_id_renames: [rename('ada@old.example', 'ada@new.example')],
    });

    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({
      message: 'success',
      external_ids: ['ada@new.example'],
      rename_errors: [],
    });
    expect(answer.headers.get('x-ratelimit-limit')).toBe('3');
    expect(answer.headers.get('x-ratelimit-remaining')).toBe('2');
    expect(emu.profiles()).toEqual([
      { external_id: 'ada@new.example', first_name: 'Ada', home_city: 'London' },
    ]);
    expect(emu.deprecatedIds('ada@new.example')).toEqual(['ada@old.example']);
    expect(emu.activity('ada@new.example')).toEqual({
      custom_events: [
        {
          name: 'login',
          first: '2026-01-02T10:00:00.000Z',
          last: '2026-01-02T10:00:00.000Z',
          count: 1,
        },
      ],
      purchases: [
        {
          name: 'cd',
          first: '2026-01-03T10:00:00.000Z',
          last: '2026-01-03T10:00:00.000Z',
          count: 2,
        },
      ],
    });
    expect(emu.stats()).toMatchObject({
      renameRequests: 1,
      usersRenamed: 1,
      profiles: 1,
      requests: 1,
    });
  });

  test('the deprecated id still names the renamed profile in track and export', async () => {
    await track(emu, { attributes: [{ external_id: 'X', first_name: 'Ada' }] });
    await post(emu, '/users/external_ids/rename', { external_id_renames: [rename('X', 'Y')] });

    await track(emu, { attributes: [{ external_id: 'X', last_name: 'Lovelace' }] });
    const exported = await post(emu, '/users/export/ids', {
      external_ids: ['X', 'nobody'],
      fields_to_export: ['external_id'],
    });

    expect(emu.profiles()).toEqual([
      { external_id: 'Y', first_name: 'Ada', last_name: 'Lovelace' },
    ]);
    expect(emu.profile('X')).toEqual(emu.profile('Y'));
    expect(exported.status).toBe(201);
    expect(exported.body).toEqual({
      message: 'success',
      users: [{ external_id: 'Y' }],
      invalid_user_ids: ['nobody'],
    });
  });

  test('merges and deletes by a deprecated id reach the renamed profile', async () => {
    await track(emu, {
      attributes: [
        { external_id: 'X', first_name: 'Ada' },
        { external_id: 'K', email: 'keep@example.org' },
        { external_id: 'D', first_name: 'Dora' },
      ],
    });
    await post(emu, '/users/external_ids/rename', {
      external_id_renames: [rename('X', 'Y'), rename('D', 'E')],
    });

    const merged = await post(emu, '/users/merge', {
      merge_updates: [
        { identifier_to_merge: { external_id: 'X' }, identifier_to_keep: { external_id: 'K' } },
      ],
    });
    const deleted = await post(emu, '/users/delete', { external_ids: ['D'] });

    expect([merged.status, deleted.status]).toEqual([201, 201]);
    expect(deleted.body).toEqual({ deleted: 1 });
    expect(emu.profiles()).toEqual([
      { external_id: 'K', email: 'keep@example.org', first_name: 'Ada' },
    ]);
    for (const gone of ['X', 'Y', 'D', 'E']) expect(emu.profile(gone)).toBeUndefined();
    // Ids of a removed profile are free again.
    const reuse = await post(emu, '/users/external_ids/rename', {
      external_id_renames: [rename('K', 'Y')],
    });
    expect(reuse.body.rename_errors).toEqual([]);
  });

  test('refuses each invalid rename on its own and applies the others', async () => {
    await track(emu, {
      attributes: [
        { external_id: 'a', n: 1 },
        { external_id: 'b', n: 2 },
        { external_id: 'c', n: 3 },
        { external_id: 'd', n: 4 },
      ],
    });
    await post(emu, '/users/external_ids/rename', { external_id_renames: [rename('d', 'd2')] });

    const answer = await post(emu, '/users/external_ids/rename', {
      external_id_renames: [
        rename('a', 'b'), // primary id of another profile
        rename('b', 'd'), // deprecated id of another profile
        rename('d', 'd3'), // current id is deprecated
        rename('c', 'c'),
        rename('ghost', 'g2'),
        { current_external_id: 'c' },
        rename('c', 'c2'),
        rename('a', 'c2'), // taken by the rename just before it
      ],
    });

    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({
      message: 'success',
      external_ids: ['c2'],
      rename_errors: [
        [0, 'new_external_id is already in use'],
        [1, 'new_external_id is already in use'],
        [2, 'current_external_id is not the primary external_id of a user'],
        [3, 'current_external_id and new_external_id cannot be the same'],
        [4, 'current_external_id is not the primary external_id of a user'],
        [5, 'current_external_id and new_external_id must be non-empty strings'],
        [7, 'new_external_id is already in use'],
      ],
    });
    expect(
      emu
        .profiles()
        .map((p) => p.external_id)
        .sort(),
    ).toEqual(['a', 'b', 'c2', 'd2']);
    expect(emu.stats()).toMatchObject({ renameRequests: 2, usersRenamed: 2 });
  });

  test('refuses an empty list, more than 50 renames and an unknown key, renaming nothing', async () => {
    await track(emu, { attributes: [{ external_id: 'u0', n: 0 }] });
    const many = Array.from({ length: 51 }, (_, i) => rename(`u${i}`, `v${i}`));

    const empty = await post(emu, '/users/external_ids/rename', { external_id_renames: [] });
    const tooMany = await post(emu, '/users/external_ids/rename', { external_id_renames: many });
    const badKey = await post(
      emu,
      '/users/external_ids/rename',
      { external_id_renames: [rename('u0', 'v0')] },
      'nope',
    );

    expect([empty.status, tooMany.status, badKey.status]).toEqual([400, 400, 401]);
    expect(empty.body).toEqual({ message: "'external_id_renames' must be a non-empty array" });
    expect(tooMany.body).toEqual({
      message: 'The max number of external_ids and aliases per request was exceeded',
    });
    expect(emu.profiles()).toEqual([{ external_id: 'u0', n: 0 }]);
    expect(emu.stats()).toMatchObject({ renameRequests: 3, usersRenamed: 0 });
  });

  test('has its own rate limit, apart from /users/track and /users/merge', async () => {
    await track(emu, { attributes: [{ external_id: 'r0' }] });
    const answers = [];
    for (let i = 0; i < 4; i += 1) {
      answers.push(
        await post(emu, '/users/external_ids/rename', {
          external_id_renames: [rename(`r${i}`, `r${i + 1}`)],
        }),
      );
    }
    const merge = await post(emu, '/users/merge', {
      merge_updates: [
        { identifier_to_merge: { external_id: 'x' }, identifier_to_keep: { external_id: 'y' } },
      ],
    });

    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 429]);
    expect(answers[3]!.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(merge.status).toBe(201);
    expect(emu.profiles()).toEqual([{ external_id: 'r3' }]);
    expect(emu.deprecatedIds('r3')).toEqual(['r0', 'r1', 'r2']);
    expect(emu.stats()).toMatchObject({ renameRequests: 4, usersRenamed: 3, rateLimited: 1 });
  });
});
