import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inActivity } from '../support/activity-context';
import { sqlite } from '../support/databases';
import { deliverWindow } from '../../activities/deliver';
import { planDelivery } from '../../activities/plan';
import { planUpdates } from '../../activities/plan-identity';
import { parseConfig } from '../../config/load';
import { startBrazeEmulator, type BrazeEmulator } from '../../emulators/braze';
import { migrate } from '../../store/db';
import { loadDestinationRows, summarizeIdentityChanges } from '../../store/delivery';

const KEY = 'plan-renames-key';
const T0 = 1_767_225_600_000;
const QUOTING_REFUSAL = 'ada@old.example could not become ada@new.example';

/**
 * Renames of Braze profiles whose golden record's external id changed (a sync whose identifier
 * is a golden field), planned and delivered without Temporal: golden records and last-sent
 * state are written directly and the activities run against the Braze emulator.
 */
describe('planning and delivering external id renames', () => {
  let braze: BrazeEmulator;
  let close: () => Promise<void>;
  let db: Awaited<ReturnType<typeof sqlite.open>>['db'];

  function config(options = '', endpoint = braze.url) {
    process.env.PLAN_RENAMES_BRAZE_KEY = KEY;
    return parseConfig(
      `
database: { client: sqlite, filename: unused.db }
sources:
  eshop: { type: sftp, host: 127.0.0.1, port: 22, username: u, password: { env: PLAN_RENAMES_BRAZE_KEY }, directory: /drop, pattern: '^x$', recordKey: id }
datasets:
  customers: { sources: [eshop], keys: [{ name: email, columns: [email], normalize: email }] }
destinations:
  braze:
    type: braze
    endpoint: '${endpoint}'
    apiKey: { env: PLAN_RENAMES_BRAZE_KEY }
    attributes: [{ name: email }, { name: first_name }, { name: home_city }]
    ${options}
syncs:
  s: { dataset: customers, destination: braze, identifier: customer_id, mapping: { email: email, first_name: first_name, home_city: city } }
`,
      'plan-renames.yaml',
    );
  }

  async function golden(
    id: number,
    masterId: string,
    attributes: Record<string, string>,
    status = 'active',
  ) {
    await db('golden_records').insert({
      id,
      master_id: masterId,
      dataset: 'customers',
      status,
      merged_into: null,
      attributes: JSON.stringify(attributes),
      source_keys: JSON.stringify([`eshop:${id}`]),
      created_at_ms: T0,
      updated_at_ms: T0,
    });
  }

  /** A profile Braze holds for a master under `externalId`, and the state that records it. */
  async function sent(masterId: string, externalId: string, attributes: Record<string, string>) {
    await db('destination_state').insert({
      sync_id: 's',
      master_id: masterId,
      external_id: externalId,
      attributes: JSON.stringify(attributes),
      created_at_ms: T0,
      last_sent_at_ms: T0,
    });
    await brazeProfile(externalId, attributes);
  }

  async function brazeProfile(externalId: string, attributes: Record<string, unknown>) {
    const response = await fetch(`${braze.url}/users/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({
        attributes: [{ external_id: externalId, ...attributes }],
        events: [{ external_id: externalId, name: 'login', time: '2026-01-01T09:00:00Z' }],
      }),
    });
    expect(response.status).toBe(201);
  }

  async function plan(options = '', runId = 'run-1') {
    const deps = { config: config(options), db, now: () => T0 + 1 };
    return inActivity(() => planDelivery(deps, { runId, syncId: 's' }));
  }

  async function deliver(options = '', runId = 'run-1') {
    const deps = { config: config(options), db, now: () => T0 + 2 };
    return inActivity(() => deliverWindow(deps, { runId, syncId: 's', maxRequests: 100 }));
  }

  async function errors(runId = 'run-1') {
    return db('row_errors')
      .where({ run_id: runId })
      .orderBy('id')
      .select('stage', 'record_key', 'reason');
  }

  beforeAll(async () => {
    braze = await startBrazeEmulator({ apiKeys: [KEY] });
  });
  afterAll(() => braze.stop());
  beforeEach(async () => {
    braze.reset();
    ({ db, close } = await sqlite.open());
    await migrate(db);
  });
  afterEach(() => close());

  it('renames the profile before sending it only what changed, then plans nothing', async () => {
    await golden(1, 'm1', {
      customer_id: 'C-200',
      email: 'ada@example.org',
      first_name: 'Ada',
      city: 'Paris',
    });
    await sent('m1', 'C-100', { email: 'ada@example.org', first_name: 'Ada', home_city: 'London' });
    const before = braze.stats();

    const planned = await plan();
    const outbox = await db('outbox')
      .where({ run_id: 'run-1' })
      .orderBy('batch_no')
      .select('batch_no', 'kind', 'items');
    const window = await deliver();

    expect(planned).toEqual({ recordsPlanned: 1, recordsSkipped: 0, batches: 2 });
    expect(outbox.map((b) => [b.batch_no, b.kind])).toEqual([
      [1, 'rename'],
      [2, 'track'],
    ]);
    expect(JSON.parse(outbox[0].items)).toEqual([{ masterId: 'm1', from: 'C-100', to: 'C-200' }]);
    expect(window).toEqual({ requestsSent: 2, done: true });
    expect(braze.profiles()).toEqual([
      { external_id: 'C-200', email: 'ada@example.org', first_name: 'Ada', home_city: 'Paris' },
    ]);
    expect(braze.profile('C-100')?.external_id).toBe('C-200');
    expect(braze.activity('C-200').custom_events.map((e) => [e.name, e.count])).toEqual([
      ['login', 1],
    ]);
    // One data point: home_city, the only attribute that changed.
    expect(braze.stats().dataPointsWritten - before.dataPointsWritten).toBe(1);
    expect(braze.stats()).toMatchObject({ renameRequests: 1, usersRenamed: 1, profiles: 1 });
    expect(await loadDestinationRows(db, 's')).toEqual(
      new Map([
        [
          'm1',
          {
            externalId: 'C-200',
            attributes: { email: 'ada@example.org', first_name: 'Ada', home_city: 'Paris' },
          },
        ],
      ]),
    );
    expect(await summarizeIdentityChanges(db, 'run-1')).toEqual({
      profilesMerged: 0,
      profilesDeleted: 0,
      profilesRenamed: 1,
    });
    expect(await errors()).toEqual([]);

    expect(await plan('', 'run-2')).toEqual({ recordsPlanned: 0, recordsSkipped: 0, batches: 0 });
  });

  it('renames a profile whose attributes did not change without sending any attribute', async () => {
    await golden(1, 'm1', { customer_id: 'C-2', email: 'ada@example.org' });
    await sent('m1', 'C-1', { email: 'ada@example.org' });

    await plan();
    const window = await deliver();

    expect(window).toEqual({ requestsSent: 1, done: true });
    expect(braze.profiles()).toEqual([{ external_id: 'C-2', email: 'ada@example.org' }]);
    expect(braze.stats()).toMatchObject({ requests: 1, renameRequests: 1 });
  });

  it('sends every attribute to the new id when Braze refuses the rename, and names the master', async () => {
    // Another app already created a profile under the new id; Braid's state does not know it.
    await golden(1, 'm1', {
      customer_id: 'ada@new.example',
      email: 'ada@example.org',
      first_name: 'Ada',
    });
    await sent('m1', 'ada@old.example', { email: 'ada@example.org', first_name: 'Ada' });
    await brazeProfile('ada@new.example', { plan: 'gold' });

    await plan();
    const window = await deliver();

    expect(window).toEqual({ requestsSent: 2, done: true });
    expect(braze.profile('ada@old.example')).toEqual({
      external_id: 'ada@old.example',
      email: 'ada@example.org',
      first_name: 'Ada',
    });
    expect(braze.profile('ada@new.example')).toEqual({
      external_id: 'ada@new.example',
      plan: 'gold',
      email: 'ada@example.org',
      first_name: 'Ada',
    });
    expect(await errors()).toEqual([
      {
        stage: 'deliver',
        record_key: 'm1',
        reason:
          'external id rename refused by Braze (new_external_id is already in use); ' +
          'every attribute goes to the new id',
      },
    ]);
    expect((await loadDestinationRows(db, 's')).get('m1')).toEqual({
      externalId: 'ada@new.example',
      attributes: { email: 'ada@example.org', first_name: 'Ada' },
    });
    expect(await summarizeIdentityChanges(db, 'run-1')).toMatchObject({ profilesRenamed: 0 });
    expect(await plan('', 'run-2')).toMatchObject({ batches: 0 });
  });

  it('keeps ids out of a refusal reason that quotes them', async () => {
    await golden(1, 'm1', { customer_id: 'ada@new.example', email: 'ada@example.org' });
    await sent('m1', 'ada@old.example', { email: 'ada@example.org' });
    await plan();
    // A Braze stand-in whose refusal quotes both ids (Braze's own wording does not).
    const quoting = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const renaming = req.url === '/users/external_ids/rename';
        const body = renaming
          ? { message: 'success', external_ids: [], rename_errors: [[0, QUOTING_REFUSAL]] }
          : { message: 'success', attributes_processed: 1 };
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => quoting.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(quoting.address() as AddressInfo).port}`;
    try {
      const deps = { config: config('', url), db, now: () => T0 + 2 };
      await inActivity(() => deliverWindow(deps, { runId: 'run-1', syncId: 's', maxRequests: 10 }));
    } finally {
      quoting.closeAllConnections();
      await new Promise<void>((resolve) => quoting.close(() => resolve()));
    }

    const [error] = await errors();
    expect(error.reason).toBe(
      'external id rename refused by Braze (current_external_id could not become new_external_id); ' +
        'every attribute goes to the new id',
    );
  });

  it('onRename: keep sends every attribute to the new id and leaves the old profile', async () => {
    await golden(1, 'm1', { customer_id: 'C-2', email: 'ada@example.org', first_name: 'Ada' });
    await sent('m1', 'C-1', { email: 'ada@example.org', first_name: 'Ada', home_city: 'London' });

    const planned = await plan('onRename: keep');
    await deliver('onRename: keep');

    expect(planned.batches).toBe(1);
    expect(braze.stats().renameRequests).toBe(0);
    expect(braze.profile('C-1')).toEqual({
      external_id: 'C-1',
      email: 'ada@example.org',
      first_name: 'Ada',
      home_city: 'London',
    });
    expect(braze.profile('C-2')).toEqual({
      external_id: 'C-2',
      email: 'ada@example.org',
      first_name: 'Ada',
    });
    expect(braze.activity('C-2').custom_events).toEqual([]);
    expect((await loadDestinationRows(db, 's')).get('m1')).toEqual({
      externalId: 'C-2',
      attributes: { email: 'ada@example.org', first_name: 'Ada' },
    });
    expect(await plan('onRename: keep', 'run-2')).toMatchObject({ batches: 0 });
  });

  it('a resent rename that Braze already did counts as done', async () => {
    await golden(1, 'm1', { customer_id: 'C-2', email: 'ada@example.org', first_name: 'Ada' });
    await sent('m1', 'C-1', { email: 'ada@example.org', first_name: 'Eda' });
    await plan();
    // The first attempt was sent and Braze renamed, then the worker died before the commit.
    await db('outbox')
      .where({ run_id: 'run-1', kind: 'rename' })
      .update({ status: 'sending', attempts: 1 });
    await fetch(`${braze.url}/users/external_ids/rename`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({
        external_id_renames: [{ current_external_id: 'C-1', new_external_id: 'C-2' }],
      }),
    });

    const window = await deliver();

    // The refused resend, the export that confirms it, then the diff.
    expect(window).toEqual({ requestsSent: 3, done: true });
    expect(await errors()).toEqual([]);
    expect(braze.profiles()).toEqual([
      { external_id: 'C-2', email: 'ada@example.org', first_name: 'Ada' },
    ]);
    expect(braze.stats()).toMatchObject({ renameRequests: 2, usersRenamed: 1, requests: 2 });
    expect(await summarizeIdentityChanges(db, 'run-1')).toMatchObject({ profilesRenamed: 1 });
  });

  it('sends batches in number order: renames first, at most 50 a request', async () => {
    for (let i = 0; i < 60; i += 1) {
      await golden(i + 1, `m${i}`, { customer_id: `new-${i}`, email: `u${i}@example.org` });
      await sent(`m${i}`, `old-${i}`, { email: `u${i}@example.org` });
    }

    const planned = await plan();
    const kinds = await db('outbox')
      .where({ run_id: 'run-1' })
      .orderBy('batch_no')
      .select('kind', 'item_count');
    const window = await deliver();

    expect(planned.batches).toBe(3);
    expect(kinds).toEqual([
      { kind: 'rename', item_count: 50 },
      { kind: 'rename', item_count: 10 },
      { kind: 'track', item_count: 60 },
    ]);
    // Nothing changed but the ids: the track batch needs no request.
    expect(window).toEqual({ requestsSent: 2, done: true });
    expect(braze.stats()).toMatchObject({ renameRequests: 2, usersRenamed: 60, profiles: 60 });
    expect(braze.profile('old-59')?.external_id).toBe('new-59');
  });
});

describe('planUpdates', () => {
  const row = (externalId: string, attributes: Record<string, string> = { email: 'a@x.org' }) => ({
    externalId,
    attributes,
  });
  const record = (masterId: string, externalId: string) => ({
    masterId,
    externalId,
    attributes: { email: 'a@x.org' },
  });

  it("renames when the new id is no other profile's and the old one no other active master's", () => {
    const state = new Map([
      ['a', row('A')],
      ['b', row('B')],
      ['c', row('C')],
      ['d', row('C')],
      ['gone', row('G')],
      ['e', row('G')],
    ]);
    const { renames, items, blocked } = planUpdates(
      [
        record('a', 'B'), // B is b's profile (renamed away this run, Braze still answers to B)
        record('b', 'B2'),
        record('c', 'C2'), // C is shared with d, which stays: no rename, a full send
        record('d', 'C'),
        record('e', 'E2'), // G's other holder is leaving (not active)
        record('f', 'B2'), // b takes B2 first
      ],
      state,
      'rename',
    );

    expect(renames).toEqual([
      { masterId: 'b', from: 'B', to: 'B2' },
      { masterId: 'e', from: 'G', to: 'E2' },
    ]);
    const full = { email: 'a@x.org' };
    expect(items).toEqual([
      { masterId: 'b', externalId: 'B2', attributes: {}, full },
      { masterId: 'c', externalId: 'C2', attributes: full, full },
      { masterId: 'e', externalId: 'E2', attributes: {}, full },
    ]);
    expect(blocked).toEqual([
      { masterId: 'a', holder: 'b' },
      { masterId: 'f', holder: 'b' },
    ]);
  });

  it('sends one master per external id: the one Braze holds it for, else the oldest', () => {
    const state = new Map([['held', row('X', { email: 'old@x.org' })]]);
    const records = [
      record('older', 'X'),
      record('held', 'X'),
      record('first', 'Y'),
      record('second', 'Y'),
    ];

    const { items, blocked } = planUpdates(records, state, 'rename');

    expect(items.map((i) => [i.masterId, i.externalId])).toEqual([
      ['held', 'X'],
      ['first', 'Y'],
    ]);
    expect(blocked).toEqual([
      { masterId: 'older', holder: 'held' },
      { masterId: 'second', holder: 'first' },
    ]);
  });

  it('keeps a renamed-away id for its profile while that profile exists', () => {
    const state = new Map([['a', row('A2')]]);
    const aliases = new Map([
      ['A', 'a'],
      ['Z', 'gone'],
    ]);

    const { items, blocked } = planUpdates(
      [record('a', 'A2'), record('n', 'A'), record('m', 'Z')],
      state,
      'rename',
      aliases,
    );

    expect(blocked).toEqual([{ masterId: 'n', holder: 'a' }]);
    // `gone` has no profile any more (merged or deleted): its old id is free.
    expect(items.map((i) => i.masterId)).toEqual(['m']);
  });

  it('gives a new id to one rename only, and none with onRename: keep', () => {
    const state = new Map([
      ['a', row('A')],
      ['b', row('B')],
    ]);
    const records = [record('a', 'X'), record('b', 'X')];

    expect(planUpdates(records, state, 'rename')).toMatchObject({
      renames: [{ masterId: 'a', from: 'A', to: 'X' }],
      blocked: [{ masterId: 'b', holder: 'a' }],
    });
    expect(planUpdates(records, state, 'keep')).toMatchObject({
      renames: [],
      blocked: [{ masterId: 'b', holder: 'a' }],
    });
  });
});
