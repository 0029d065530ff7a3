import { BrazeClient } from '../../connectors/braze/client';
import { toEventObject, toPurchaseObject } from '../../connectors/braze/mapping';
import { BadInputError } from '../../connectors/errors';
import { startBrazeEmulator, type BrazeEmulator } from '../../emulators/braze';

const KEY = 'events-test-key';

async function exportIds(emu: BrazeEmulator, body: unknown): Promise<any> {
  const response = await fetch(`${emu.url}/users/export/ids`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return response.json();
}

const purchase = (externalId: string, time: string, quantity?: number) =>
  toPurchaseObject(externalId, { productId: 'cd', currency: 'USD', price: 12.5, time, quantity });

describe('Braze emulator and client: custom events and purchases', () => {
  let emu: BrazeEmulator;
  let client: BrazeClient;

  beforeAll(async () => {
    emu = await startBrazeEmulator({ apiKeys: [KEY] });
    client = new BrazeClient({ endpoint: emu.url, apiKey: KEY });
  });
  afterAll(() => emu.stop());
  beforeEach(() => emu.reset());

  test('stores purchases per profile, creating it, and exports them as Braze does', async () => {
    const result = await client.trackEvents('purchases', [
      purchase('u1', '1998-04-02T00:00:00.000Z', 3),
      purchase('u1', '1998-03-01T10:00:00.000Z'),
      toPurchaseObject('u1', {
        productId: 'dvd',
        currency: 'EUR',
        price: 9,
        time: '1998-05-01T00:00:00.000Z',
        properties: { cds: 2 },
      }),
    ]);

    expect(result).toMatchObject({ status: 201, processed: 3, itemErrors: [] });
    expect(emu.stats()).toMatchObject({ purchasesRecorded: 3, eventsRecorded: 0, profiles: 1 });
    const answer = await exportIds(emu, { external_ids: ['u1'] });
    expect(answer.users).toEqual([
      {
        external_id: 'u1',
        custom_attributes: {},
        purchases: [
          {
            name: 'cd',
            first: '1998-03-01T10:00:00.000Z',
            last: '1998-04-02T00:00:00.000Z',
            count: 4,
          },
          {
            name: 'dvd',
            first: '1998-05-01T00:00:00.000Z',
            last: '1998-05-01T00:00:00.000Z',
            count: 1,
          },
        ],
      },
    ]);
  });

  test('stores custom events and honours fields_to_export', async () => {
    const event = (time: string) =>
      toEventObject('u2', { name: 'ticket_closed', time, properties: { score: 4 } });
    await client.trackEvents('events', [
      event('2024-01-02T00:00:00.000Z'),
      event('2024-01-01T00:00:00.000Z'),
    ]);

    const all = await exportIds(emu, { external_ids: ['u2'] });
    const some = await exportIds(emu, {
      external_ids: ['u2'],
      fields_to_export: ['custom_events'],
    });
    const none = await exportIds(emu, { external_ids: ['u2'], fields_to_export: ['first_name'] });

    const summary = {
      name: 'ticket_closed',
      first: '2024-01-01T00:00:00.000Z',
      last: '2024-01-02T00:00:00.000Z',
      count: 2,
    };
    expect(all.users[0].custom_events).toEqual([summary]);
    expect(some.users).toEqual([{ external_id: 'u2', custom_events: [summary] }]);
    expect(none.users).toEqual([{ external_id: 'u2' }]);
    expect(emu.stats()).toMatchObject({ eventsRecorded: 2, purchasesRecorded: 0 });
  });

  test('rejects invalid objects by index in a 201 and stores the others', async () => {
    const result = await client.trackEvents('purchases', [
      purchase('u1', '1998-04-02T00:00:00.000Z'),
      { ...purchase('u1', '1998-04-02T00:00:00.000Z'), currency: 'DOLLARS' },
      purchase('u1', '1998-04-02T00:00:00.000Z', 101),
      { ...purchase('u1', 'yesterday') },
      toPurchaseObject('u1', {
        productId: 'cd',
        currency: 'USD',
        price: 1,
        time: '1998-04-02T00:00:00.000Z',
        properties: { note: 'x'.repeat(256) },
      }),
    ]);

    expect(result.status).toBe(201);
    expect(result.processed).toBe(1);
    expect(result.itemErrors.map((e) => e.index)).toEqual([1, 2, 3, 4]);
    expect(result.itemErrors[0]!.reason).toBe("'currency' must be an ISO 4217 currency code");
    expect(result.itemErrors[1]!.reason).toBe("'quantity' must be an integer from 1 to 100");
    expect(emu.stats()).toMatchObject({ purchasesRecorded: 1 });
  });

  test('resolves a 400 that rejects every object as item errors, sends nothing over 75', async () => {
    const bad = {
      ...toEventObject('u3', { name: 'x', time: '2024-01-01T00:00:00Z' }),
      properties: { $no: 1 },
    };

    const result = await client.trackEvents('events', [bad, bad]);
    const tooMany = Array.from({ length: 76 }, () =>
      toEventObject('u3', { name: 'x', time: '2024-01-01' }),
    );
    const refused = await client.trackEvents('events', tooMany).catch((e: unknown) => e);

    expect(result.status).toBe(400);
    expect(result.itemErrors).toEqual([
      { index: 0, reason: "property name '$no' is not allowed" },
      { index: 1, reason: "property name '$no' is not allowed" },
    ]);
    expect(refused).toBeInstanceOf(BadInputError);
    expect(emu.stats()).toMatchObject({ requests: 1, eventsRecorded: 0, profiles: 0 });
  });

  test('a merge moves custom events and purchases onto the kept profile', async () => {
    await client.trackEvents('purchases', [
      purchase('keep', '1998-01-01T00:00:00.000Z'),
      purchase('gone', '1997-01-01T00:00:00.000Z', 2),
    ]);

    await client.mergeUsers([{ mergeExternalId: 'gone', keepExternalId: 'keep' }]);

    expect(emu.activity('keep').purchases).toEqual([
      { name: 'cd', first: '1997-01-01T00:00:00.000Z', last: '1998-01-01T00:00:00.000Z', count: 3 },
    ]);
    expect(emu.activity('gone').purchases).toEqual([]);
  });
});
