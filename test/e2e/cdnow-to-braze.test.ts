import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { RunReport } from '../../activities';
import {
  availableBackends,
  BRAZE_KEY,
  startE2E,
  type E2E,
  type E2EConfigValues,
} from '../support/e2e';

const EXAMPLE = path.resolve(__dirname, '../../examples/cdnow');
const CDNOW = path.resolve(__dirname, '../../examples/data/cdnow/CDNOW_master.txt');
/**
 * The first 2,000 CDNOW customers (6,503 order lines, 2,200 CRM rows) by default: they fill
 * every sextile, and a run takes about 6 s. The whole file (23,570 customers) takes about
 * 30 s a run on SQLite on two shared cores, too slow for every test run on both databases;
 * BRAID_TEST_CDNOW_CUSTOMERS=all runs it (or another count).
 */
const CUSTOMERS = customersToUse(process.env.BRAID_TEST_CDNOW_CUSTOMERS);
const AS_OF = '1998-07-01';
/** The example's purchase export sends orders dated on or after this day. */
const PURCHASES_SINCE = '1998-04-01';
const SYNC = 'cdnow-to-braze';
/** A customer the CRM adds in the second drop, with a first order. */
const NEW_CUSTOMER = '90001';
/** A second id the CRM gives customer 00021 in the third drop. */
const SECOND_ID = '90002';
const NEW_ORDERS = [
  { orderId: 'n1', customer: '00005', day: '1998-06-30', dollars: '40.00', cds: 2 },
  { orderId: 'n2', customer: '00017', day: '1998-06-20', dollars: '300.00', cds: 9 },
  { orderId: 'n3', customer: NEW_CUSTOMER, day: '1998-06-15', dollars: '15.00', cds: 1 },
];

/**
 * examples/cdnow/braid.yaml as shipped, pointed at this test's servers, database and secrets:
 * the test runs the example itself, segments file included.
 */
function exampleConfig(v: E2EConfigValues): string {
  return readFileSync(path.join(EXAMPLE, 'braid.yaml'), 'utf8')
    .replace(/^database: .*$/m, `database: ${v.database}`)
    .replace(/\$\{TEMPORAL_ADDRESS:-[^}]*\}/, v.temporalAddress)
    .replace(/\$\{BRAID_TASK_QUEUE:-[^}]*\}/, v.taskQueue)
    .replace(/\$\{SFTP_PORT:-[^}]*\}/g, String(v.sftpPort))
    .replace(/\$\{BRAZE_URL:-[^}]*\}/, v.brazeUrl)
    .replace(/\{ env: BRAID_SFTP_PASSWORD \}/g, '{ env: E2E_SFTP_PASSWORD }')
    .replace(/\{ env: BRAZE_API_KEY \}/, '{ env: E2E_BRAZE_KEY }');
}

function customersToUse(setting: string | undefined): number {
  if (setting === 'all') return Infinity;
  return setting ? Number(setting) : 2000;
}

interface Order {
  customer: string;
  day: string;
  cents: number;
  cds: number;
}

/** CDNOW order lines of the first CUSTOMERS customers, read here without Braid's readers. */
function cdnowOrders(): Order[] {
  const orders: Order[] = [];
  for (const line of readFileSync(CDNOW, 'latin1').split('\n')) {
    const m = /^\s*(\d+)\s+(\d{4})(\d{2})(\d{2})\s+(\d+)\s+(\d+)\.(\d\d)\s*$/.exec(line);
    if (m && Number(m[1]) <= CUSTOMERS) {
      const cents = Number(m[6]) * 100 + Number(m[7]);
      orders.push({ customer: m[1]!, day: `${m[2]}-${m[3]}-${m[4]}`, cents, cds: Number(m[5]) });
    }
  }
  return orders;
}

/** The attributes Braze should hold per customer id, as the emulator returns them. */
type Expected = Map<string, Record<string, string | number>>;

/**
 * The expected Braze attributes, in plain SQL on a database of its own: GROUP BY per customer,
 * and each score as 1 + floor(6 × customers strictly worse / customers), capped at 6, where
 * RANK() - 1 over the worse-first order is the number strictly worse. FxM scores F + M the
 * same way. The segment is a CASE over examples/cdnow/segments.yaml's cells.
 */
function expectedAttributes(orders: Order[], customers: string[]): Expected {
  const sql = new Database(':memory:');
  sql.exec('CREATE TABLE o (c TEXT, day TEXT, cents INTEGER)');
  const insert = sql.prepare('INSERT INTO o VALUES (?, ?, ?)');
  for (const o of orders) insert.run(o.customer, o.day, o.cents);
  const scoresAt = (day: string) =>
    sql
      .prepare(
        `WITH agg AS (
           SELECT c, COUNT(*) AS n, SUM(cents) AS cents, MAX(day) AS last,
                  CAST(julianday(:day) - julianday(MAX(day)) AS INTEGER) AS recency,
                  SUM(CASE WHEN julianday(day) > julianday(:day) - 90 THEN cents END) AS cents90
           FROM o WHERE day <= :day GROUP BY c),
         total AS (SELECT COUNT(*) AS t FROM agg),
         s AS (
           SELECT agg.*, t,
                  MIN(6, 1 + 6 * (RANK() OVER (ORDER BY recency DESC) - 1) / t) AS r,
                  MIN(6, 1 + 6 * (RANK() OVER (ORDER BY n) - 1) / t) AS f,
                  MIN(6, 1 + 6 * (RANK() OVER (ORDER BY cents) - 1) / t) AS m
           FROM agg, total),
         sf AS (SELECT s.*, MIN(6, 1 + 6 * (RANK() OVER (ORDER BY f + m) - 1) / t) AS fm FROM s)
         SELECT sf.*,
                CASE
                  WHEN fm >= 5 THEN CASE WHEN r >= 5 THEN 'champions' WHEN r >= 3 THEN 'loyal'
                                         ELSE 'slipping_vips' END
                  WHEN fm >= 3 THEN CASE WHEN r >= 4 THEN 'regulars' ELSE 'cooling' END
                  ELSE CASE WHEN r >= 5 THEN 'newcomers' WHEN r >= 3 THEN 'one_timers' ELSE 'gone' END
                END AS segment
         FROM sf`,
      )
      .all({ day }) as Array<Record<string, number | string | null>>;
  const dayBefore = (days: number) =>
    new Date(Date.parse(`${AS_OF}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);
  const now = scoresAt(AS_OF);
  const ago30 = new Map(scoresAt(dayBefore(30)).map((row) => [row.c, row.segment as string]));
  const ago90 = new Map(scoresAt(dayBefore(90)).map((row) => [row.c, row.segment as string]));
  sql.close();

  const out: Expected = new Map(customers.map((c) => [c, { order_count: 0 }]));
  for (const row of now) {
    const c = row.c as string;
    const trail: string[] = [];
    for (const segment of [ago90.get(c), ago30.get(c), row.segment as string]) {
      if (segment !== undefined && segment !== trail[trail.length - 1]) trail.push(segment);
    }
    const attributes: Record<string, string | number> = {
      order_count: row.n as number,
      total_spent: (row.cents as number) / 100,
      last_order: row.last as string,
      recency_days: row.recency as number,
      rfm_r: row.r as number,
      rfm_f: row.f as number,
      rfm_m: row.m as number,
      rfm_fm: row.fm as number,
      rfm_segment: row.segment as string,
    };
    if (row.cents90 !== null) attributes.spent_90d = (row.cents90 as number) / 100;
    if (trail.length > 1) attributes.rfm_segment_change = trail.join(' → ');
    out.set(c, attributes);
  }
  return out;
}

/** Braze's purchase summary of one customer: [{name, first, last, count}] as exported. */
type Purchases = Map<string, Array<{ name: string; first: string; last: string; count: number }>>;

/**
 * The purchases Braze should hold, in plain SQL: per customer, the orders dated on or after
 * PURCHASES_SINCE, whose quantity (cds, at most 100) Braze counts as that many purchases.
 */
function expectedPurchases(orders: Order[]): { orders: number; byCustomer: Purchases } {
  const sql = new Database(':memory:');
  sql.exec('CREATE TABLE o (c TEXT, day TEXT, cds INTEGER)');
  const insert = sql.prepare('INSERT INTO o VALUES (?, ?, ?)');
  for (const o of orders) insert.run(o.customer, o.day, o.cds);
  const rows = sql
    .prepare(
      `SELECT c, COUNT(*) AS n, SUM(MIN(cds, 100)) AS quantity, MIN(day) AS first, MAX(day) AS last
       FROM o WHERE day >= ? GROUP BY c`,
    )
    .all(PURCHASES_SINCE) as Array<{
    c: string;
    n: number;
    quantity: number;
    first: string;
    last: string;
  }>;
  sql.close();
  const at = (day: string) => `${day}T00:00:00.000Z`;
  return {
    orders: rows.reduce((sum, row) => sum + row.n, 0),
    byCustomer: new Map(
      rows.map((row) => [
        row.c,
        [{ name: 'cd', first: at(row.first), last: at(row.last), count: row.quantity }],
      ]),
    ),
  };
}

/** The purchases of these customers as Braze's `/users/export/ids` returns them. */
async function exportedPurchases(e2e: E2E, customers: string[]): Promise<Purchases> {
  const response = await fetch(`${e2e.braze.url}/users/export/ids`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BRAZE_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ external_ids: customers, fields_to_export: ['purchases'] }),
  });
  const body = (await response.json()) as {
    users: Array<{ external_id: string; purchases?: unknown }>;
  };
  return new Map(body.users.map((u) => [u.external_id, (u.purchases ?? []) as never]));
}

/** Profiles from the emulator's admin API, with the fields the expectation covers. */
async function brazeProfiles(e2e: E2E): Promise<Map<string, Record<string, unknown>>> {
  const response = await fetch(`${e2e.braze.url}/_emulator/users`);
  const users = (await response.json()) as Array<Record<string, unknown>>;
  return new Map(users.map((u) => [u.external_id as string, u]));
}

/** The profile's values of the expected fields; a date attribute compared by its day. */
function comparable(
  profile: Record<string, unknown> | undefined,
  expected: Record<string, unknown>,
) {
  const out: Record<string, unknown> = {};
  for (const name of [...Object.keys(expected), 'spent_90d', 'rfm_segment_change']) {
    const value = profile?.[name];
    if (value === undefined) continue;
    out[name] =
      name === 'last_order' ? new Date(value as string).toISOString().slice(0, 10) : value;
  }
  return out;
}

function expectProfiles(profiles: Map<string, Record<string, unknown>>, expected: Expected): void {
  expect(profiles.size).toBe(expected.size);
  let mismatches = 0;
  for (const [customer, attributes] of expected) {
    const got = comparable(profiles.get(customer), attributes);
    if (JSON.stringify(got) !== JSON.stringify(sortedLike(attributes, got))) {
      // Only the first few, so one systematic error does not print thousands of diffs.
      if (++mismatches <= 3) expect({ customer, ...got }).toEqual({ customer, ...attributes });
    }
  }
  expect(mismatches).toBe(0);
}

/** `expected` with its keys in `got`'s order, so the JSON comparison ignores key order. */
function sortedLike(expected: Record<string, unknown>, got: Record<string, unknown>) {
  const keys = [...Object.keys(got), ...Object.keys(expected).filter((k) => !(k in got))];
  return Object.fromEntries(keys.filter((k) => k in expected).map((k) => [k, expected[k]]));
}

/**
 * CDNOW orders and a CRM file with duplicates, dropped on SFTP, through the real Temporal
 * server and worker into the Braze emulator: unify, prepare (computed fields, RFM with
 * history) and delivery of only what changed. Expected values are recomputed from the raw
 * CDNOW file in plain SQL.
 */
describe.each(availableBackends())('CDNOW orders and customers to Braze on %s', (backend) => {
  let e2e: E2E;
  const orders = cdnowOrders();
  const customerIds = [...new Set(orders.map((o) => o.customer))];
  let drop: { orders: number; rows: number; customers: number };

  beforeAll(async () => {
    e2e = await startE2E({ backend, configYaml: exampleConfig, syncId: SYNC });
    // The config names segments.yaml relative to itself: the copy beside it is the one read.
    copyFileSync(path.join(EXAMPLE, 'segments.yaml'), path.join(e2e.dir, 'segments.yaml'));
    const script = path.join(EXAMPLE, 'make-drop.js');
    const args = [
      script,
      e2e.dropDir,
      ...(CUSTOMERS < Infinity ? ['--customers', String(CUSTOMERS)] : []),
    ];
    const said = execFileSync(process.execPath, args, { encoding: 'utf8' });
    const m = /^(\d+) orders and (\d+) customer rows \((\d+) customers\)/.exec(said)!;
    drop = { orders: Number(m[1]), rows: Number(m[2]), customers: Number(m[3]) };
  });
  afterAll(async () => {
    await e2e?.stop();
  });

  test('unifies the CRM, scores the orders and syncs segments and computed fields', async () => {
    const started = Date.now();
    const report = await e2e.runSync();
    const tookMs = Date.now() - started;
    const what = `${customerIds.length} customers, ${orders.length} orders`;
    process.stdout.write(`CDNOW e2e on ${backend} (${what}): first run ${tookMs} ms\n`);

    // Customers whose id ends in 3 are in the CRM twice.
    const twice = customerIds.filter((id) => Number(id) % 10 === 3).length;
    const customers = customerIds.length;
    expect(drop).toEqual({ orders: orders.length, rows: customers + twice, customers });
    expect(report).toMatchObject({
      sync: SYNC,
      status: 'succeeded',
      recordsRead: drop.orders + drop.rows,
      recordsRejected: 0,
      goldenRecords: customerIds.length,
      recordsPlanned: customerIds.length,
      recordsDelivered: customerIds.length,
      unifyMode: 'full',
      recordsUnified: drop.rows,
      recordsPrepared: customerIds.length,
      preparedChanged: customerIds.length,
      customersRecomputed: -1,
      eventsUnusable: 0,
    });
    const batchSize = e2e.config.destinations.braze!.batchSize;
    const purchases = expectedPurchases(orders);
    const purchaseRequests = Math.ceil(purchases.orders / 75);
    expect(report.requestsSent).toBe(Math.ceil(customerIds.length / batchSize) + purchaseRequests);
    expect(report).toMatchObject({
      purchasesSent: purchases.orders,
      purchasesRejected: 0,
      purchasesDeferred: 0,
      eventsSent: 0,
    });
    expect(e2e.braze.stats().purchasesRecorded).toBe(purchases.orders);
    // A few customers with purchases, and one whose orders are all before the export's `since`.
    const buyers = [...purchases.byCustomer.keys()].slice(0, 4);
    const before = customerIds.find((c) => !purchases.byCustomer.has(c))!;
    const exported = await exportedPurchases(e2e, [...buyers, before]);
    expect(exported).toEqual(
      new Map([...buyers.map((c) => [c, purchases.byCustomer.get(c)!] as const), [before, []]]),
    );
    process.stdout.write(`CDNOW purchases since ${PURCHASES_SINCE}: ${purchases.orders}\n`);
    const expected = expectedAttributes(orders, customerIds);
    const profiles = await brazeProfiles(e2e);
    expectProfiles(profiles, expected);
    // Customer 13 is in the CRM twice, once with the email in capitals: one profile.
    expect(profiles.get('00013')).toMatchObject({
      email: 'customer13@cdnow.example',
      first_name: 'Paul',
    });
    expect(profiles.get('00001')).toMatchObject({ first_name: 'Paul', country: 'DE' });
    expect(profiles.get('00002')).toMatchObject({ first_name: 'Jean Luc', country: 'US' });
    expect(profiles.get('00004')).toMatchObject({ first_name: 'Kim', country: 'DE' });
    expect(profiles.get('00006')).toMatchObject({ first_name: 'Anne-Marie', country: 'IT' });
    // Every segment of the example's grid is used on this base.
    const bySegment = (values: Iterable<Record<string, unknown>>) => {
      const counts: Record<string, number> = {};
      for (const v of values)
        counts[v.rfm_segment as string] = (counts[v.rfm_segment as string] ?? 0) + 1;
      return counts;
    };
    // On the first 2,000: gone 590, champions 539, regulars 319, one_timers 227, cooling 212,
    // loyal 110, slipping_vips 3; no newcomers, since all of them first bought in January 1997.
    expect(bySegment(profiles.values())).toEqual(bySegment(expected.values()));
    process.stdout.write(`CDNOW segments: ${JSON.stringify(bySegment(expected.values()))}\n`);
  });

  test('a second run with the same drop sends nothing', async () => {
    const before = e2e.braze.stats().requests;

    const report = await e2e.runSync();

    expect(report).toMatchObject({ status: 'succeeded', recordsPlanned: 0, requestsSent: 0 });
    expect(report).toMatchObject({
      unifyMode: 'unchanged',
      preparedChanged: 0,
      customersRecomputed: 0,
    });
    expect(report).toMatchObject({ purchasesSent: 0, purchasesDeferred: 0, eventsSent: 0 });
    expect(e2e.braze.stats().requests).toBe(before);
  });

  test('new orders send the customers they touch and those whose sextile moved, no others', async () => {
    const before = expectedAttributes(orders, customerIds);
    const more = NEW_ORDERS.map((o) => ({ ...o, cents: Math.round(Number(o.dollars) * 100) }));
    const after = expectedAttributes([...orders, ...more], [...customerIds, NEW_CUSTOMER]);
    const changed = ([c, a]: [string, unknown]) =>
      JSON.stringify(a) !== JSON.stringify(before.get(c));
    const moved = [...after].filter(changed).map(([c]) => c);
    const crm = [
      'row_id,customer_id,email,first_name,country',
      `c${NEW_CUSTOMER},${NEW_CUSTOMER},new@cdnow.example,ada,fr`,
    ];
    writeFileSync(path.join(e2e.dropDir, 'customers_19980702.csv'), `${crm.join('\n')}\n`);
    const shop = NEW_ORDERS.map((o) => [o.orderId, o.customer, o.day, o.dollars, o.cds].join(','));
    const header = 'order_id,customer_id,date,amount,cds';
    writeFileSync(
      path.join(e2e.dropDir, 'orders_19980702.csv'),
      `${[header, ...shop].join('\n')}\n`,
    );
    const logged = e2e.braze.requestLog().length;
    const recorded = e2e.braze.stats().purchasesRecorded;

    const report: RunReport = await e2e.runSync();

    const sentTo = e2e.braze
      .requestLog()
      .slice(logged)
      .flatMap((entry) => entry.externalIds);
    expect(new Set(sentTo).size).toBe(sentTo.length);
    expect([...sentTo].sort()).toEqual([...moved].sort());
    expect(moved).toEqual(expect.arrayContaining(['00005', '00017', NEW_CUSTOMER]));
    // More than the three touched: the base grew by one and two customers moved up.
    expect(moved.length).toBeGreaterThan(3);
    expect(report).toMatchObject({
      status: 'succeeded',
      recordsRead: 4,
      recordsPlanned: moved.length,
    });
    expectProfiles(await brazeProfiles(e2e), after);
    const added = (await brazeProfiles(e2e)).get(NEW_CUSTOMER);
    expect(added).toMatchObject({ email: 'new@cdnow.example', first_name: 'Ada', country: 'FR' });
    // Exactly the new orders as purchases, the new customer's included (its profile is created
    // by this run's attribute update, which is sent first).
    expect(report).toMatchObject({ purchasesSent: NEW_ORDERS.length, purchasesDeferred: 0 });
    expect(e2e.braze.stats().purchasesRecorded).toBe(recorded + NEW_ORDERS.length);
    const touched = ['00005', '00017', NEW_CUSTOMER];
    const now = expectedPurchases([...orders, ...more]).byCustomer;
    expect(await exportedPurchases(e2e, touched)).toEqual(
      new Map(touched.map((c) => [c, now.get(c)!])),
    );
    orders.push(...more);
    customerIds.push(NEW_CUSTOMER);
  });

  test("a customer given a second id gets that id's orders and purchases on its one profile", async () => {
    // The CRM lists customer 00021 again under a new id, and the shop has an order under it.
    const second = {
      orderId: 'm1',
      customer: SECOND_ID,
      day: '1998-06-25',
      dollars: '77.00',
      cds: 3,
    };
    writeFileSync(
      path.join(e2e.dropDir, 'customers_19980703.csv'),
      `row_id,customer_id,email,first_name,country\nc${SECOND_ID},${SECOND_ID},customer21@cdnow.example,,\n`,
    );
    writeFileSync(
      path.join(e2e.dropDir, 'orders_19980703.csv'),
      `order_id,customer_id,date,amount,cds\n${[second.orderId, SECOND_ID, second.day, second.dollars, second.cds].join(',')}\n`,
    );
    const recorded = e2e.braze.stats().purchasesRecorded;
    const asTheirs = (o: Order) => (o.customer === SECOND_ID ? { ...o, customer: '00021' } : o);
    const all = [...orders, { ...second, cents: 7700 }].map(asTheirs);

    const report: RunReport = await e2e.runSync();

    expect(report).toMatchObject({
      status: 'succeeded',
      recordsRead: 2,
      goldenRecords: customerIds.length,
    });
    expect(report).toMatchObject({ purchasesSent: 1, purchasesDeferred: 0, purchasesUnmatched: 0 });
    expect(e2e.braze.stats().purchasesRecorded).toBe(recorded + 1);
    const profiles = await brazeProfiles(e2e);
    expect(profiles.has(SECOND_ID)).toBe(false);
    expectProfiles(profiles, expectedAttributes(all, customerIds));
    const theirs = orders.filter((o) => o.customer === '00021');
    expect(profiles.get('00021')).toMatchObject({ order_count: theirs.length + 1 });
    const purchases = expectedPurchases(all).byCustomer.get('00021');
    expect(await exportedPurchases(e2e, ['00021'])).toEqual(new Map([['00021', purchases]]));
  });
});
