import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BrazeClient, mapRenameErrors, toAttributeObject } from '../../connectors/braze';
import { AuthError, BadInputError, RateLimitError } from '../../connectors/errors';
import { startBrazeEmulator, type BrazeEmulator } from '../../emulators/braze';

const KEY = 'braze-rename-secret-1234567890';

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

const pair = (currentExternalId: string, newExternalId: string) => ({
  currentExternalId,
  newExternalId,
});

describe('BrazeClient renames external ids against the emulator', () => {
  let emu: BrazeEmulator;
  let client: BrazeClient;

  beforeAll(async () => {
    emu = await startBrazeEmulator({
      apiKeys: [KEY],
      renameRequestVolume: 3,
      renameTimeWindowMs: 60_000,
    });
    client = new BrazeClient({ endpoint: emu.url, apiKey: KEY });
  });
  afterAll(() => emu.stop());
  beforeEach(async () => {
    emu.reset();
    await client.trackAttributes([
      toAttributeObject('ada@old.example', { first_name: 'Ada' }),
      toAttributeObject('alan@example.org', { first_name: 'Alan' }),
    ]);
  });

  test('renames one profile and reports the refused rename by its index', async () => {
    const result = await client.renameExternalIds([
      pair('ada@old.example', 'ada@new.example'),
      pair('alan@example.org', 'ada@new.example'),
    ]);

    expect(result.status).toBe(201);
    expect(result.itemErrors).toEqual([{ index: 1, reason: 'new_external_id is already in use' }]);
    expect(result.rateLimit).toMatchObject({ limit: 3, remaining: 2 });
    expect(emu.profile('ada@new.example')).toEqual({
      external_id: 'ada@new.example',
      first_name: 'Ada',
    });
  });

  test('primaryIds resolves an old id to the renamed profile and names unknown ids', async () => {
    await client.renameExternalIds([pair('ada@old.example', 'ada@new.example')]);

    const found = await client.primaryIds(['ada@old.example', 'nobody']);

    expect(found.primaryIds).toEqual(new Set(['ada@new.example']));
    expect(found.unknownIds).toEqual(new Set(['nobody']));
  });

  test('a resent rename is refused because its current id is deprecated by then', async () => {
    await client.renameExternalIds([pair('ada@old.example', 'ada@new.example')]);

    const again = await client.renameExternalIds([pair('ada@old.example', 'ada@new.example')]);

    expect(again.itemErrors).toEqual([
      { index: 0, reason: 'current_external_id is not the primary external_id of a user' },
    ]);
    expect(emu.stats()).toMatchObject({ renameRequests: 2, usersRenamed: 1, profiles: 2 });
  });

  test('refuses empty, oversized and self renames before any request', async () => {
    const many = Array.from({ length: 51 }, (_, i) => pair(`a${i}`, `b${i}`));

    const errors = await Promise.all([
      caught(client.renameExternalIds([])),
      caught(client.renameExternalIds(many)),
      caught(client.renameExternalIds([pair('a', 'a')])),
      caught(client.renameExternalIds([pair('', 'b')])),
    ]);

    for (const error of errors) expect(error).toBeInstanceOf(BadInputError);
    expect(errors[1]!.message).toBe(
      'Braze /users/external_ids/rename request has 51 renames; the limit is 50',
    );
    expect(emu.stats().renameRequests).toBe(0);
  });

  test('429 becomes RateLimitError and a wrong key AuthError that does not carry the key', async () => {
    for (let i = 0; i < 3; i += 1) await client.renameExternalIds([pair(`x${i}`, `y${i}`)]);

    const limited = await caught(client.renameExternalIds([pair('x9', 'y9')]));
    const wrong = new BrazeClient({ endpoint: emu.url, apiKey: 'wrong-key-555' });
    const denied = await caught(wrong.renameExternalIds([pair('a', 'b')]));

    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).retryAfterMs).toBeGreaterThan(0);
    expect(denied).toBeInstanceOf(AuthError);
    expect(denied.message).toBe(
      'Braze rejected the REST API key on /users/external_ids/rename (HTTP 401)',
    );
    expect(`${denied.message}${denied.stack}`).not.toContain('wrong-key-555');
  });
});

describe('mapRenameErrors', () => {
  const pairs = [pair('a', 'a2'), pair('b', 'b2'), pair('c', 'c2')];

  test('reads [index, message] in either order, string indexes, and drops out-of-range ones', () => {
    const body = {
      message: 'success',
      external_ids: ['a2'],
      rename_errors: [
        ['new_external_id is already in use', 1],
        ['2', 'refused'],
        [7, 'far away'],
      ],
    };

    expect(mapRenameErrors(body, pairs)).toEqual([
      { index: 1, reason: 'new_external_id is already in use' },
      { index: 2, reason: 'refused' },
    ]);
  });

  test('an error without an index refuses every pair external_ids does not list', () => {
    const body = {
      message: 'success',
      external_ids: ['b2'],
      rename_errors: [['something went wrong']],
    };

    expect(mapRenameErrors(body, pairs)).toEqual([
      { index: 0, reason: 'something went wrong' },
      { index: 2, reason: 'something went wrong' },
    ]);
  });

  test('a success without rename_errors refuses nothing', () => {
    expect(mapRenameErrors({ message: 'success' }, pairs)).toEqual([]);
  });
});

describe('BrazeClient rename request shape', () => {
  let server: Server;
  let url: string;
  const seen: Array<{ path: string; body: unknown }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({
          path: req.url ?? '',
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
        });
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'success', external_ids: ['n1'], rename_errors: [] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );

  test('posts external_id_renames with current and new ids', async () => {
    const client = new BrazeClient({ endpoint: url, apiKey: KEY });

    const result = await client.renameExternalIds([pair('o1', 'n1')]);

    expect(result.itemErrors).toEqual([]);
    expect(seen).toEqual([
      {
        path: '/users/external_ids/rename',
        body: { external_id_renames: [{ current_external_id: 'o1', new_external_id: 'n1' }] },
      },
    ]);
  });
});
