import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { summarizeIdentityChanges } from '../../store/delivery';
import { loadGoldenRecords } from '../../store/identity';
import {
  availableBackends,
  BRAZE_KEY,
  SFTP_USER,
  startE2E,
  type E2E,
  type E2EConfigValues,
} from '../support/e2e';

const HEADER = 'unique_id,customer_no,first_name,surname,city,email';

/** The eshop installation with Braze profiles keyed by the customer number, not the master id. */
function renameConfig(onRename: 'rename' | 'keep') {
  return (v: E2EConfigValues) => `
database: ${v.database}
temporal: { address: '${v.temporalAddress}', namespace: default, taskQueue: ${v.taskQueue} }
sources:
  eshop:
    type: sftp
    host: 127.0.0.1
    port: ${v.sftpPort}
    username: ${SFTP_USER}
    password: { env: E2E_SFTP_PASSWORD }
    directory: /drop
    pattern: '^customers_\\d{8}\\.csv$'
    recordKey: unique_id
    stableSeconds: 0
datasets:
  customers:
    sources: [eshop]
    fields: { email: email }
    keys:
      - { name: email, columns: [email], normalize: email }
    survivorship: most_recent_non_null
destinations:
  braze:
    type: braze
    endpoint: ${v.brazeUrl}
    apiKey: { env: E2E_BRAZE_KEY }
    timeWindowSeconds: ${v.timeWindowSeconds}
    requestVolume: ${v.requestVolume}
    batchSize: ${v.batchSize}
    onRename: ${onRename}
    attributes:
      - { name: email, type: string }
      - { name: first_name, type: string }
      - { name: last_name, type: string }
      - { name: home_city, type: string }
syncs:
  eshop-to-braze:
    dataset: customers
    destination: braze
    identifier: customer_no
    mapping: { email: email, first_name: first_name, last_name: surname, home_city: city }
`;
}

const FIRST_DROP = [
  HEADER,
  '1,C-100,Ada,Lovelace,London,ada@example.org',
  '2,C-200,Alan,Turing,Wilmslow,alan@example.org',
  '3,C-300,Grace,Hopper,Arlington,grace@example.org',
  '',
].join('\n');

/** What an earlier events export (or the app) recorded on a profile before its id changed. */
async function recordHistory(e2e: E2E, externalId: string): Promise<void> {
  const response = await fetch(`${e2e.braze.url}/users/track`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${BRAZE_KEY}` },
    body: JSON.stringify({
      events: [
        { external_id: externalId, name: 'newsletter_signup', time: '2025-11-02T08:00:00Z' },
      ],
      purchases: [
        {
          external_id: externalId,
          product_id: 'cd',
          currency: 'EUR',
          price: 12.5,
          time: '2025-12-01T10:00:00Z',
        },
      ],
    }),
  });
  expect(response.status).toBe(201);
}

/**
 * A sync keyed by a golden field (the customer number) through the whole pipeline, on Temporal:
 * when a golden record's customer number changes, its Braze profile is renamed, so its history
 * stays with it; a rename Braze refuses falls back to a full send under the new number.
 */
describe.each(availableBackends())('external id changes renamed in Braze on %s', (backend) => {
  let e2e: E2E;
  let ada = '';
  let alan = '';

  beforeAll(async () => {
    e2e = await startE2E({ backend, configYaml: renameConfig('rename') });
    writeFileSync(path.join(e2e.dropDir, 'customers_20260101.csv'), FIRST_DROP);
  });
  afterAll(async () => {
    await e2e?.stop();
  });

  test('the first run creates one profile per customer number', async () => {
    const report = await e2e.runSync();

    expect(report).toMatchObject({ status: 'succeeded', goldenRecords: 3, recordsDelivered: 3 });
    expect(
      e2e.braze
        .profiles()
        .map((p) => p.external_id)
        .sort(),
    ).toEqual(['C-100', 'C-200', 'C-300']);
    const golden = await loadGoldenRecords(e2e.db, 'customers');
    ada = golden.find((g) => g.attributes.email === 'ada@example.org')!.masterId;
    alan = golden.find((g) => g.attributes.email === 'alan@example.org')!.masterId;
    await recordHistory(e2e, 'C-100');
  });

  test('a changed customer number renames the profile, which keeps its attributes and history', async () => {
    writeFileSync(
      path.join(e2e.dropDir, 'customers_20260102.csv'),
      [HEADER, '1,C-101,Ada,Lovelace,Paris,ada@example.org', ''].join('\n'),
    );
    const before = e2e.braze.stats();

    const report = await e2e.runSync();

    expect(report).toMatchObject({ status: 'succeeded', recordsPlanned: 1, rejections: [] });
    // One rename request, then one attribute update carrying only the changed city.
    expect(report.requestsSent).toBe(2);
    expect(e2e.braze.stats()).toMatchObject({
      renameRequests: before.renameRequests + 1,
      usersRenamed: 1,
      profiles: 3,
      dataPointsWritten: before.dataPointsWritten + 1,
    });
    expect(await summarizeIdentityChanges(e2e.db, report.runId)).toMatchObject({
      profilesRenamed: 1,
    });
    const renamed = {
      external_id: 'C-101',
      email: 'ada@example.org',
      first_name: 'Ada',
      last_name: 'Lovelace',
      home_city: 'Paris',
    };
    expect(e2e.braze.profiles().filter((p) => p.email === 'ada@example.org')).toEqual([renamed]);
    expect(e2e.braze.profile('C-100')).toEqual(renamed);
    expect(e2e.braze.deprecatedIds('C-101')).toEqual(['C-100']);
    const history = e2e.braze.activity('C-101');
    expect(history.custom_events.map((e) => [e.name, e.count])).toEqual([['newsletter_signup', 1]]);
    expect(history.purchases.map((p) => [p.name, p.count])).toEqual([['cd', 1]]);
    const state = await e2e.db('destination_state').where({ master_id: ada }).first('external_id');
    expect(state).toEqual({ external_id: 'C-101' });
  });

  test('a second run sends nothing', async () => {
    const before = e2e.braze.stats();

    const report = await e2e.runSync();

    expect(report).toMatchObject({ status: 'succeeded', requestsSent: 0, recordsPlanned: 0 });
    expect(e2e.braze.stats()).toMatchObject({
      renameRequests: before.renameRequests,
      requests: before.requests,
      profiles: 3,
    });
  });

  test('a rename into a number another profile holds is refused: the new number gets everything', async () => {
    // Another app created a profile under C-999; Braid never sent it.
    await fetch(`${e2e.braze.url}/users/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${BRAZE_KEY}` },
      body: JSON.stringify({ attributes: [{ external_id: 'C-999', loyalty: 'gold' }] }),
    });
    writeFileSync(
      path.join(e2e.dropDir, 'customers_20260103.csv'),
      [HEADER, '2,C-999,Alan,Turing,Wilmslow,alan@example.org', ''].join('\n'),
    );
    const before = e2e.braze.stats();

    const report = await e2e.runSync();

    expect(report.status).toBe('succeeded');
    expect(e2e.braze.stats()).toMatchObject({
      renameRequests: before.renameRequests + 1,
      usersRenamed: 1,
    });
    expect(await summarizeIdentityChanges(e2e.db, report.runId)).toMatchObject({
      profilesRenamed: 0,
    });
    expect(report.rejections).toEqual([
      {
        stage: 'deliver',
        record: alan,
        reason:
          'external id rename refused by Braze (new_external_id is already in use); ' +
          'every attribute goes to the new id',
      },
    ]);
    expect(e2e.braze.profile('C-999')).toEqual({
      external_id: 'C-999',
      loyalty: 'gold',
      email: 'alan@example.org',
      first_name: 'Alan',
      last_name: 'Turing',
      home_city: 'Wilmslow',
    });
    // The old profile is left as it was.
    expect(e2e.braze.profile('C-200')).toEqual({
      external_id: 'C-200',
      email: 'alan@example.org',
      first_name: 'Alan',
      last_name: 'Turing',
      home_city: 'Wilmslow',
    });

    const again = await e2e.runSync();
    expect(again).toMatchObject({ status: 'succeeded', requestsSent: 0, rejections: [] });
  });

  test("a new customer under another profile's number, current or renamed away, is not sent", async () => {
    writeFileSync(
      path.join(e2e.dropDir, 'customers_20260104.csv'),
      [
        HEADER,
        '4,C-100,Adele,Blanc,Lyon,adele@example.org',
        '5,C-300,Gina,Hopp,Rome,gina@example.org',
        '',
      ].join('\n'),
    );
    const before = e2e.braze.stats();
    const grace = e2e.braze.profile('C-300');

    const report = await e2e.runSync();

    const golden = await loadGoldenRecords(e2e.db, 'customers');
    const master = (email: string) => golden.find((g) => g.attributes.email === email)!.masterId;
    const graceId = master('grace@example.org');
    const waiting = (record: string, holder: string) => ({
      stage: 'plan',
      record,
      field: 'customer_no',
      reason: `not sent: its customer_no is the Braze profile of golden record ${holder}`,
    });
    expect(report).toMatchObject({
      status: 'succeeded',
      goldenRecords: 5,
      requestsSent: 0,
      recordsSkipped: 2,
    });
    // C-100 is Ada's deprecated id: Braze would put Adele's values on Ada's profile.
    expect(report.rejections).toEqual(
      expect.arrayContaining([
        expect.objectContaining(waiting(master('adele@example.org'), ada)),
        expect.objectContaining(waiting(master('gina@example.org'), graceId)),
      ]),
    );
    expect(e2e.braze.stats()).toMatchObject({
      profiles: before.profiles,
      requests: before.requests,
    });
    expect(e2e.braze.profile('C-300')).toEqual(grace);
    expect(e2e.braze.profile('C-101')).toMatchObject({
      email: 'ada@example.org',
      home_city: 'Paris',
    });
  });
});

describe.each(availableBackends())('onRename: keep on %s', (backend) => {
  let e2e: E2E;

  beforeAll(async () => {
    e2e = await startE2E({ backend, configYaml: renameConfig('keep') });
    writeFileSync(path.join(e2e.dropDir, 'customers_20260101.csv'), FIRST_DROP);
  });
  afterAll(async () => {
    await e2e?.stop();
  });

  test('sends every attribute to the new number and leaves the old profile', async () => {
    await e2e.runSync();
    await recordHistory(e2e, 'C-100');
    writeFileSync(
      path.join(e2e.dropDir, 'customers_20260102.csv'),
      [HEADER, '1,C-101,Ada,Lovelace,London,ada@example.org', ''].join('\n'),
    );

    const report = await e2e.runSync();

    expect(report).toMatchObject({ status: 'succeeded', requestsSent: 1, rejections: [] });
    expect(e2e.braze.stats()).toMatchObject({ renameRequests: 0, profiles: 4 });
    const ada = {
      email: 'ada@example.org',
      first_name: 'Ada',
      last_name: 'Lovelace',
      home_city: 'London',
    };
    expect(e2e.braze.profile('C-101')).toEqual({ external_id: 'C-101', ...ada });
    expect(e2e.braze.profile('C-100')).toEqual({ external_id: 'C-100', ...ada });
    expect(e2e.braze.activity('C-100').purchases.map((p) => p.name)).toEqual(['cd']);
    expect(e2e.braze.activity('C-101')).toEqual({ custom_events: [], purchases: [] });
  });
});
