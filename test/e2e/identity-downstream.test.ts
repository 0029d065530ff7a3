import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { inActivity } from '../support/activity-context';
import { deliverWindow } from '../../activities/deliver';
import { planDelivery } from '../../activities/plan';
import { parseConfig } from '../../config/load';
import { startBrazeEmulator, type BrazeEmulator } from '../../emulators/braze';
import { migrate } from '../../store/db';
import {
  loadDestinationState,
  nextPendingBatch,
  summarizeIdentityChanges,
} from '../../store/delivery';
import { loadGoldenRecords } from '../../store/identity';
import { availableBackends, BRAZE_KEY, startE2E, type E2E } from '../support/e2e';
import { sqlite } from '../support/databases';

const HEADER = 'unique_id,first_name,surname,dob,city,email,cluster';

/**
 * Identity changes reach Braze through the whole pipeline: a later file links two people, so
 * their golden records merge and the newer profile is merged into the older one; a deletion at
 * the source retires a golden record and its profile is deleted. Braze's users are checked
 * after every run.
 */
describe.each(availableBackends())('identity changes sent downstream to Braze on %s', (backend) => {
  let e2e: E2E;
  const masterOf = new Map<string, string>();

  beforeAll(async () => {
    e2e = await startE2E({ backend });
    writeFileSync(
      path.join(e2e.dropDir, 'customers_20260101.csv'),
      [
        HEADER,
        '1,Ada,Lovelace,1815-12-10,London,ada@example.org,1',
        '2,Alan,Turing,1912-06-23,Wilmslow,alan@example.org,2',
        '3,Grace,Hopper,1906-12-09,Arlington,grace@example.org,3',
        '4,Edsger,Dijkstra,1930-05-11,Austin,edsger@example.org,4',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await e2e?.stop();
  });

  test('the first run creates one profile per person', async () => {
    const report = await e2e.runSync();

    expect(report).toMatchObject({ status: 'succeeded', goldenRecords: 4, recordsDelivered: 4 });
    expect(report).toMatchObject({ profilesMerged: 0, profilesDeleted: 0 });
    for (const golden of await loadGoldenRecords(e2e.db, 'customers')) {
      masterOf.set(golden.attributes.email!, golden.masterId);
    }
    expect(
      e2e.braze
        .profiles()
        .map((p) => p.email)
        .sort(),
    ).toEqual(['ada@example.org', 'alan@example.org', 'edsger@example.org', 'grace@example.org']);
  });

  test('a file linking two people merges the newer profile into the older one', async () => {
    // Ada's email with Alan's name and birth date: one person in the dataset's keys.
    writeFileSync(
      path.join(e2e.dropDir, 'customers_20260102.csv'),
      [HEADER, '5,Alan,Turing,1912-06-23,,ada@example.org,5', ''].join('\n'),
    );
    const ada = masterOf.get('ada@example.org')!;
    const alan = masterOf.get('alan@example.org')!;

    const report = await e2e.runSync();

    expect(report).toMatchObject({ status: 'succeeded', goldenMerged: 1, profilesMerged: 1 });
    const gone = await e2e
      .db('golden_records')
      .where({ master_id: alan })
      .first('status', 'merged_into');
    expect(gone).toEqual({ status: 'merged', merged_into: ada });
    expect(e2e.braze.profile(alan)).toBeUndefined();
    expect(e2e.braze.stats()).toMatchObject({ profiles: 3, usersMerged: 1, mergeRequests: 1 });
    const kept = (await loadGoldenRecords(e2e.db, 'customers')).find((g) => g.masterId === ada)!;
    expect(e2e.braze.profile(ada)).toMatchObject({
      email: kept.attributes.email,
      first_name: kept.attributes.first_name,
      last_name: kept.attributes.surname,
    });
    const state = await loadDestinationState(e2e.db, 'eshop-to-braze');
    expect([...state.keys()].sort()).toEqual(
      [...masterOf.values()].filter((m) => m !== alan).sort(),
    );
  });

  test('a record deleted at the source retires its golden record and deletes the profile', async () => {
    const edsger = masterOf.get('edsger@example.org')!;
    await e2e
      .db('source_records')
      .where({ source: 'eshop', record_key: '4' })
      .update({ deleted_at_ms: Date.now() });

    const report = await e2e.runSync();

    expect(report).toMatchObject({
      status: 'succeeded',
      goldenRetired: 1,
      profilesDeleted: 1,
      profilesMerged: 0,
    });
    expect(e2e.braze.profile(edsger)).toBeUndefined();
    expect(e2e.braze.stats()).toMatchObject({ profiles: 2, usersDeleted: 1, deleteRequests: 1 });
    expect((await loadDestinationState(e2e.db, 'eshop-to-braze')).has(edsger)).toBe(false);
  });

  test('a run with nothing new sends no merge or delete again', async () => {
    const before = e2e.braze.stats();

    const report = await e2e.runSync();

    expect(report).toMatchObject({
      status: 'succeeded',
      requestsSent: 0,
      profilesMerged: 0,
      profilesDeleted: 0,
    });
    expect(e2e.braze.stats()).toMatchObject({
      mergeRequests: before.mergeRequests,
      deleteRequests: before.deleteRequests,
      profiles: 2,
    });
  });
});

/**
 * Planning and delivery of identity changes without Temporal: golden records and last-sent
 * state are written directly, and the activities run in a mock activity context against the
 * Braze emulator.
 */
describe('planning and delivering identity changes', () => {
  let braze: BrazeEmulator;
  let close: () => Promise<void>;
  let db: Awaited<ReturnType<typeof sqlite.open>>['db'];
  const T0 = 1_767_225_600_000;

  function config(options = '') {
    process.env.IDENTITY_TEST_BRAZE_KEY = BRAZE_KEY;
    return parseConfig(
      `
database: { client: sqlite, filename: unused.db }
sources:
  eshop: { type: sftp, host: 127.0.0.1, port: 22, username: u, password: { env: IDENTITY_TEST_BRAZE_KEY }, directory: /drop, pattern: '^x$', recordKey: id }
datasets:
  customers: { sources: [eshop], keys: [{ name: email, columns: [email], normalize: email }] }
destinations:
  braze: { type: braze, endpoint: '${braze.url}', apiKey: { env: IDENTITY_TEST_BRAZE_KEY }, attributes: [{ name: email }] ${options} }
syncs:
  s: { dataset: customers, destination: braze, mapping: { email: email } }
`,
      'identity-test.yaml',
    );
  }

  async function golden(
    id: number,
    masterId: string,
    status: string,
    mergedInto: string | null = null,
  ) {
    await db('golden_records').insert({
      id,
      master_id: masterId,
      dataset: 'customers',
      status,
      merged_into: mergedInto,
      attributes: JSON.stringify({ email: `${masterId}@example.org` }),
      source_keys: JSON.stringify([`eshop:${id}`]),
      created_at_ms: T0,
      updated_at_ms: T0,
    });
  }

  async function sent(masterId: string, attributes: Record<string, string>) {
    await db('destination_state').insert({
      sync_id: 's',
      master_id: masterId,
      external_id: masterId,
      attributes: JSON.stringify(attributes),
      created_at_ms: T0,
      last_sent_at_ms: T0,
    });
    await fetch(`${braze.url}/users/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${BRAZE_KEY}` },
      body: JSON.stringify({ attributes: [{ external_id: masterId, ...attributes }] }),
    });
  }

  async function runDelivery(options = '', runId = 'run-1') {
    const deps = { config: config(options), db, now: () => T0 + 1 };
    const plan = await inActivity(() => planDelivery(deps, { runId, syncId: 's' }));
    const window = await inActivity(() =>
      deliverWindow(deps, { runId, syncId: 's', maxRequests: 100 }),
    );
    return { plan, window };
  }

  beforeAll(async () => {
    braze = await startBrazeEmulator({ apiKeys: [BRAZE_KEY] });
  });
  afterAll(() => braze.stop());
  beforeEach(async () => {
    braze.reset();
    ({ db, close } = await sqlite.open());
    await migrate(db);
  });
  afterEach(() => close());

  it('creates a kept master Braze never received before merging into it, through a chain', async () => {
    // A merged into B, B merged into C; Braze has A and B, never C.
    await golden(1, 'a', 'merged', 'b');
    await golden(2, 'b', 'merged', 'c');
    await golden(3, 'c', 'active');
    await sent('a', { email: 'a@example.org', home: 'Leeds' });
    await sent('b', { email: 'b@example.org' });

    const { plan, window } = await runDelivery();

    expect(plan.batches).toBe(2);
    expect(window).toEqual({ requestsSent: 2, done: true });
    expect(braze.profiles()).toEqual([{ external_id: 'c', email: 'c@example.org', home: 'Leeds' }]);
    // Braze moved `home` onto c; the state knows, so the next run unsets what c's record lacks.
    expect(await loadDestinationState(db, 's')).toEqual(
      new Map([['c', { email: 'c@example.org', home: 'Leeds' }]]),
    );
    expect(await summarizeIdentityChanges(db, 'run-1')).toEqual({
      profilesMerged: 2,
      profilesDeleted: 0,
      profilesRenamed: 0,
    });

    const next = await runDelivery('', 'run-2');
    expect(next.plan.batches).toBe(1);
    expect(braze.profile('c')).toEqual({ external_id: 'c', email: 'c@example.org' });
  });

  it('orders batches track, merge, delete and plans a retried run only once', async () => {
    await golden(1, 'keep', 'active');
    await golden(2, 'dup', 'merged', 'keep');
    await golden(3, 'old', 'retired');
    await golden(4, 'fresh', 'active');
    await sent('keep', { email: 'keep@example.org' });
    await sent('dup', { email: 'dup@example.org' });
    await sent('old', { email: 'old@example.org' });
    const deps = { config: config(), db, now: () => T0 };

    const first = await inActivity(() => planDelivery(deps, { runId: 'run-1', syncId: 's' }));
    const again = await inActivity(() => planDelivery(deps, { runId: 'run-1', syncId: 's' }));
    const kinds = await db('outbox')
      .where({ run_id: 'run-1' })
      .orderBy('batch_no')
      .select('batch_no', 'kind');

    expect([first.batches, again.batches]).toEqual([3, 3]);
    expect(kinds).toEqual([
      { batch_no: 1, kind: 'track' },
      { batch_no: 2, kind: 'merge' },
      { batch_no: 3, kind: 'delete' },
    ]);
    expect(await nextPendingBatch(db, 'run-1')).toMatchObject({ batchNo: 1 });
    await inActivity(() => deliverWindow(deps, { runId: 'run-1', syncId: 's', maxRequests: 10 }));
    expect(
      braze
        .profiles()
        .map((p) => p.external_id)
        .sort(),
    ).toEqual(['fresh', 'keep']);
    expect([...(await loadDestinationState(db, 's')).keys()].sort()).toEqual(['fresh', 'keep']);
  });

  it('defers a merge whose kept profile Braze refused, and keeps its state for the next run', async () => {
    await golden(1, 'keep', 'active');
    await golden(2, 'dup', 'merged', 'keep');
    await sent('dup', { email: 'dup@example.org' });
    await db('golden_records')
      .where({ master_id: 'keep' })
      .update({ attributes: '{"email":"not-an-email"}' });

    const { window } = await runDelivery();

    expect(window.done).toBe(true);
    expect(braze.profile('dup')).toBeDefined();
    expect((await loadDestinationState(db, 's')).has('dup')).toBe(true);
    const errors = await db('row_errors')
      .where({ run_id: 'run-1', record_key: 'dup' })
      .select('reason');
    expect(errors).toEqual([
      { reason: 'merge into keep deferred: its profile is not in Braze yet' },
    ]);
    expect(await summarizeIdentityChanges(db, 'run-1')).toEqual({
      profilesMerged: 0,
      profilesDeleted: 0,
      profilesRenamed: 0,
    });
  });

  it('plans nothing for onMerge: keep and onDelete: keep', async () => {
    await golden(1, 'keep', 'active');
    await golden(2, 'dup', 'merged', 'keep');
    await golden(3, 'old', 'retired');
    await sent('keep', { email: 'keep@example.org' });
    await sent('dup', { email: 'dup@example.org' });
    await sent('old', { email: 'old@example.org' });

    const { plan } = await runDelivery(', onMerge: keep, onDelete: keep');

    expect(plan.batches).toBe(0);
    expect(braze.stats()).toMatchObject({ mergeRequests: 0, deleteRequests: 0, profiles: 3 });
  });
});
