import type { RunReport } from '../../activities';
import { readZendeskUsers, stagedPerSource } from '../../client/demo-multi';
import { loadGoldenRecords, type GoldenRecord } from '../../store/identity';
import { getWatermark } from '../../store/watermarks';
import {
  expectedClusters,
  readSeedRecords,
  startMultiSourceE2E,
  type MultiSourceE2E,
} from '../support/multi-source';

/** The Salesforce emulator answers 5 records per page, so the 20 Contacts take 4 pages. */
const SALESFORCE_PAGE_SIZE = 5;
/** SystemModstamp of the 10th seed Contact: the last record of page 2. */
const PAGE_2_LAST_MODSTAMP = '2025-06-01T09:09:00.000Z';

/**
 * The multi-source example end to end, through the real Temporal server: Salesforce Contacts,
 * Zendesk users, a CRM table in SQLite and the eshop CSV on SFTP unify into one profiles
 * dataset that syncs to the Braze emulator. The seed has 62 records of 40 people; the clusters
 * are recomputed here from the seed files, without Braid's identity code.
 */
describe('sync of four sources into one profiles dataset', () => {
  let e2e: MultiSourceE2E;
  let first: RunReport;
  let contactIds: string[];

  const goldenWith = async (sourceKey: string): Promise<GoldenRecord> => {
    const golden = await loadGoldenRecords(e2e.db, 'profiles');
    const found = golden.find((g) => g.sourceKeys.includes(sourceKey));
    if (!found) throw new Error(`no golden record holds ${sourceKey}`);
    return found;
  };
  const queryRequests = () =>
    e2e.sources.salesforce.requestLog().filter((r) => /\/query(\/|$)/.test(r.path));

  beforeAll(async () => {
    e2e = await startMultiSourceE2E({ salesforcePageSize: SALESFORCE_PAGE_SIZE });
    contactIds = e2e.sources.salesforce.ids('Contact');
    // Page 3 of the first Contact query is the request to `<locator>-10`: it fails once.
    e2e.sources.salesforce.failNext(1, 'SERVER_UNAVAILABLE', { pathIncludes: '-10' });
    first = await e2e.runSync();
  });
  afterAll(async () => {
    await e2e?.stop();
  });

  test('reads every record of every source', async () => {
    expect(first).toMatchObject({ status: 'succeeded', recordsRead: 62, recordsRejected: 0 });
    expect(await stagedPerSource(e2e.config)).toEqual({
      salesforce: 20,
      zendesk: 16,
      crm: 15,
      eshop: 11,
    });
    for (const [source, records] of [
      ['salesforce', 20],
      ['zendesk', 16],
      ['crm', 15],
    ] as const) {
      expect(await getWatermark(e2e.db, source)).toMatchObject({ runId: first.runId, records });
    }
  });

  test('unifies the records into the clusters the seed describes', async () => {
    const expected = expectedClusters(readSeedRecords());
    const golden = await loadGoldenRecords(e2e.db, 'profiles');

    expect(expected).toHaveLength(40);
    expect(first).toMatchObject({
      goldenRecords: 40,
      recordsPlanned: 40,
      recordsDelivered: 40,
      requestsSent: 1,
    });
    const toKey = (ref: string) =>
      ref.replace(/^salesforce#(\d+)$/, (_, i) => `salesforce:${contactIds[Number(i)]}`);
    const actual = golden.map((g) => [...g.sourceKeys].sort());
    expect(new Set(actual.map((keys) => keys.join(' ')))).toEqual(
      new Set(expected.map((refs) => refs.map(toKey).sort().join(' '))),
    );
    const sourcesOf = (keys: string[]) => new Set(keys.map((k) => k.split(':')[0]));
    expect(actual.filter((keys) => sourcesOf(keys).size === 3)).toHaveLength(1);
  });

  test('sends each person once to Braze, with values chosen across sources', async () => {
    expect(e2e.braze.stats().profiles).toBe(40);
    const mapping = e2e.config.syncs['profiles-to-braze']!.mapping;
    const golden = await loadGoldenRecords(e2e.db, 'profiles');
    const present = (g: GoldenRecord) =>
      Object.values(mapping).filter((field) => (g.attributes[field] ?? '') !== '').length;
    const attributes = golden.map(present).reduce((a, b) => a + b, 0);
    expect(first).toMatchObject({ attributesSent: attributes, dataPointsWritten: attributes });

    // Salesforce, Zendesk and the drop share email and phone; Salesforce is the newest.
    const maya = e2e.braze.profile((await goldenWith('zendesk:381013')).masterId);
    expect(maya).toMatchObject({
      email: 'erin01@york.com',
      phone: '+442079460113',
      first_name: 'Maya',
      last_name: 'Jones',
      full_name: 'Maya Jones',
      home_city: 'Sunderland',
      support_tier: 'standard',
    });
    expect(maya).not.toHaveProperty('loyalty_points');
    // Work email in Salesforce, personal one in Zendesk: one person by phone, newest email wins.
    const eva = await goldenWith('zendesk:381016');
    expect(eva.sourceKeys).toContain(`salesforce:${contactIds[16]}`);
    expect(e2e.braze.profile(eva.masterId)).toMatchObject({
      email: 'eva.harris@northwind-traders.example',
      phone: '+442079460116',
    });
    // The CRM row has a phone and no email; Salesforce has both.
    const julia = e2e.braze.profile((await goldenWith('crm:501')).masterId);
    expect(julia).toMatchObject({
      email: 'hannah88@powers.com',
      loyalty_points: 100,
      home_city: 'London',
    });
    // The drop's row has no email: linked to the CRM row by "(020) 7946-0133" = "020 7946 0133".
    const jacob = await goldenWith('crm:513');
    expect(jacob.sourceKeys.sort()).toEqual(['crm:513', 'eshop:E7005']);
    expect(e2e.braze.profile(jacob.masterId)).toMatchObject({
      email: 'barrygary@flores.com',
      loyalty_points: 925,
    });
    // Zendesk writes the email in capitals; it is lower-cased before matching and sending.
    const enht = e2e.braze.profile((await goldenWith('zendesk:381027')).masterId);
    expect(enht).toMatchObject({
      email: 'petersbrandon@cox.com',
      loyalty_points: 775,
      support_tier: 'gold',
    });
  });

  test('a Salesforce failure after page 2 resumes from the saved cursor', async () => {
    const requests = queryRequests();
    const soql = (rawUrl: string) => new URL(rawUrl, 'http://x').searchParams.get('q') ?? '';

    // COUNT(), pages 1 and 2, page 3 failing; then the retried activity's query and its pages.
    const shape = (r: { path: string; status: number }) => [
      r.path.replace(/\/query\/\w+-/, '/query/<locator>-'),
      r.status,
    ];
    expect(requests.map(shape)).toEqual([
      ['/services/data/v59.0/query', 200],
      ['/services/data/v59.0/query', 200],
      ['/services/data/v59.0/query/<locator>-5', 200],
      ['/services/data/v59.0/query/<locator>-10', 503],
      ['/services/data/v59.0/query', 200],
      ['/services/data/v59.0/query/<locator>-5', 200],
      ['/services/data/v59.0/query/<locator>-10', 200],
    ]);
    expect(soql(requests[0]!.rawUrl)).toMatch(/SELECT COUNT\(\)/);
    expect(soql(requests[1]!.rawUrl)).not.toMatch(/SystemModstamp >=/);
    expect(soql(requests[4]!.rawUrl)).toContain(`SystemModstamp >= ${PAGE_2_LAST_MODSTAMP}`);
    // The retried attempt counted on from the saved pages: 20 records, not 10 + 20.
    expect(await getWatermark(e2e.db, 'salesforce')).toMatchObject({ records: 20 });
    expect((await stagedPerSource(e2e.config)).salesforce).toBe(20);
  });

  test('a second run sends nothing', async () => {
    const before = e2e.braze.stats().requests;

    const report = await e2e.runSync();

    expect(report).toMatchObject({
      status: 'succeeded',
      goldenRecords: 40,
      recordsPlanned: 0,
      requestsSent: 0,
    });
    expect(e2e.braze.stats().requests).toBe(before);
  });

  test('a Salesforce email change and a Zendesk deletion reach Braze on the next run', async () => {
    const alexander = await goldenWith(`salesforce:${contactIds[3]}`);
    const harry = await goldenWith('zendesk:381025');
    expect(harry.sourceKeys.sort()).toEqual(['crm:505', 'zendesk:381025']);
    expect(e2e.braze.profile(harry.masterId)).toMatchObject({ support_tier: 'standard' });
    const newEmail = 'alexander.amelia@example.org';
    e2e.sources.salesforce.update('Contact', contactIds[3]!, { Email: newEmail });
    const user = readZendeskUsers().find((u) => u.id === 381025)!;
    const deleted = { ...user, active: false, updated_at: '2025-07-01T00:00:00Z' };
    e2e.sources.zendesk.put('users', [deleted]);
    const before = e2e.braze.stats().requests;

    const report = await e2e.runSync();

    expect(report).toMatchObject({
      status: 'succeeded',
      goldenRecords: 40,
      recordsPlanned: 2,
      requestsSent: 1,
      attributesSent: 2,
    });
    for (const source of ['salesforce', 'zendesk']) {
      expect(await getWatermark(e2e.db, source)).toMatchObject({ runId: report.runId, records: 1 });
    }
    expect((await stagedPerSource(e2e.config)).zendesk).toBe(15);
    expect(e2e.braze.stats().requests).toBe(before + 1);
    const sentTo = e2e.braze.requestLog().at(-1)?.externalIds.sort();
    expect(sentTo).toEqual([alexander.masterId, harry.masterId].sort());
    expect(e2e.braze.profile(alexander.masterId)?.email).toBe(newEmail);
    const after = await goldenWith('crm:505');
    expect(after.masterId).toBe(harry.masterId);
    expect(after.sourceKeys).toEqual(['crm:505']);
    expect(after.attributes.support_tier ?? '').toBe('');
    expect(e2e.braze.profile(harry.masterId)?.support_tier ?? null).toBeNull();
    expect(e2e.braze.profile(harry.masterId)).toMatchObject({
      email: 'coltonray@lee.com',
      loyalty_points: 725,
    });
  });
});
