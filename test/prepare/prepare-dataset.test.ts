import { DefaultFailureConverter, defaultPayloadConverter } from '@temporalio/common';
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';

import { toFailure } from '../../activities/failure';
import { prepareDatasetNow } from '../../activities/prepare';
import { parseConfig } from '../../config/load';
import { unifyDataset } from '../../identity/unify-dataset';
import { isPostgres, migrate } from '../../store/db';
import { loadPreparedRecords, PrepareStoreError } from '../../store/prepared';
import { openRun } from '../../store/runs';
import { stageRecords, type StageRow } from '../../store/staging';
import { BACKENDS } from '../support/databases';

const CDNOW = path.join(__dirname, '../../examples/data/cdnow/CDNOW_master.txt');
/** The first 400 CDNOW customers: 1,322 order lines, enough for every sextile to be used. */
const CUSTOMERS = 400;
const AS_OF = '1998-07-01';
/** The customer a recipe drops (status closed): not prepared, so not in the RFM base either. */
const LEFT_OUT = '00007';

const CONFIG = `
database: { client: sqlite, filename: ':memory:' }
sources:
  crm: { type: sftp, host: 127.0.0.1, username: u, password: { env: X }, pattern: '^c', recordKey: row_id }
  shop: { type: sftp, host: 127.0.0.1, username: u, password: { env: X }, pattern: '^o', recordKey: order_id }
datasets:
  customers:
    sources: [crm]
    keys: [{ name: email, columns: [email], normalize: email }]
    recipes:
      - { type: trim, level: source, columns: [customer_id] }
      - { type: name, columns: [first_name] }
      - { type: drop, when: { column: status, equals: closed } }
    links: { orders: { dataset: orders, field: customer_id } }
    computed:
      order_count: { link: orders, op: count }
      total_spent: { link: orders, op: sum, column: amount }
      last_order: { link: orders, op: max, column: date }
      first_cds: { link: orders, op: first, column: cds }
      spent_90d: { link: orders, op: sum, column: amount, window: { days: 90 } }
      big_orders: { link: orders, op: count, where: { column: cds, in: ['5', '6', '7'] } }
      avg_amount: { link: orders, op: avg, column: amount }
      fewest_cds: { link: orders, op: min, column: cds }
      order_days: { link: orders, op: distinct, column: date }
      last_channel: { link: orders, op: last, column: channel }
      web_orders: { link: orders, op: count, where: { column: channel, equals: web, ignoreCase: true } }
      unlabelled: { link: orders, op: count, where: { column: channel, blank: true } }
    scores: { rfm: { link: orders, history: { lookbackDays: [30, 90] } } }
    asOf: '${AS_OF}'
  orders:
    kind: events
    sources: [shop]
    fields: { date: date, amount: number, cds: number }
    events: { customer: customer_id, date: date, amount: amount, orderId: order_id }
destinations:
  braze: { type: braze, endpoint: 'http://127.0.0.1:1', apiKey: { env: X } }
syncs:
  s: { dataset: customers, destination: braze, mapping: { segment: segment } }
`;

interface Order {
  customerId: string;
  day: string;
  cds: number;
  dollars: string;
  /** Written untidily on purpose: the filters compare trimmed and, when asked, case-blind. */
  channel: string;
}

const CHANNELS = ['Web', 'shop', 'WEB ', '', 'phone'];

function cdnowOrders(): Order[] {
  const orders: Order[] = [];
  for (const line of readFileSync(CDNOW, 'latin1').split('\n')) {
    const m = /^\s*(\d+)\s+(\d{4})(\d{2})(\d{2})\s+(\d+)\s+(\d+\.\d+)\s*$/.exec(line);
    if (m && Number(m[1]) <= CUSTOMERS) {
      const channel = CHANNELS[orders.length % CHANNELS.length]!;
      orders.push({
        customerId: m[1]!,
        day: `${m[2]}-${m[3]}-${m[4]}`,
        cds: Number(m[5]),
        dollars: m[6]!,
        channel,
      });
    }
  }
  return orders;
}

/** The expected values in SQL on a separate database, written without the code under test. */
function expectedBySql(orders: Order[]) {
  const sql = new Database(':memory:');
  sql.exec(
    'CREATE TABLE o (seq INTEGER PRIMARY KEY, c TEXT, day TEXT, cds INT, cents INT, channel TEXT)',
  );
  const insert = sql.prepare('INSERT INTO o (c, day, cds, cents, channel) VALUES (?, ?, ?, ?, ?)');
  for (const o of orders)
    insert.run(o.customerId, o.day, o.cds, Math.round(Number(o.dollars) * 100), o.channel);
  const rows = sql
    .prepare(
      `WITH agg AS (
         SELECT c, COUNT(*) AS n, SUM(cents) AS cents, MAX(day) AS last,
                CAST(julianday(:asOf) - julianday(MAX(day)) AS INTEGER) AS recency,
                SUM(CASE WHEN julianday(day) > julianday(:asOf) - 90 THEN cents END) AS cents90,
                SUM(CASE WHEN cds IN (5, 6, 7) THEN 1 ELSE 0 END) AS big,
                AVG(cents) / 100.0 AS avg_dollars, MIN(cds) AS fewest, COUNT(DISTINCT day) AS days,
                SUM(CASE WHEN lower(trim(channel)) = 'web' THEN 1 ELSE 0 END) AS web,
                SUM(CASE WHEN trim(channel) = '' THEN 1 ELSE 0 END) AS unlabelled,
                (SELECT channel FROM o o2 WHERE o2.c = o.c ORDER BY day DESC, seq DESC LIMIT 1) AS last_channel
         FROM o WHERE day <= :asOf AND c <> :leftOut GROUP BY c),
       base AS (SELECT COUNT(*) AS total FROM agg)
       SELECT agg.*,
              MIN(6, 1 + 6 * (RANK() OVER (ORDER BY recency DESC) - 1) / total) AS r,
              MIN(6, 1 + 6 * (RANK() OVER (ORDER BY n) - 1) / total) AS f,
              MIN(6, 1 + 6 * (RANK() OVER (ORDER BY cents) - 1) / total) AS m
       FROM agg, base ORDER BY c`,
    )
    .all({ asOf: AS_OF, leftOut: LEFT_OUT }) as Array<Record<string, number | string>>;
  const first = sql
    .prepare(
      `SELECT c, cds FROM o o1 WHERE rowid = (SELECT MIN(rowid) FROM o o2 WHERE o2.c = o1.c
         AND o2.day = (SELECT MIN(day) FROM o o3 WHERE o3.c = o1.c))`,
    )
    .all() as Array<{ c: string; cds: number }>;
  sql.close();
  return { rows, firstCds: new Map(first.map((r) => [r.c, String(r.cds)])) };
}

describe.each(BACKENDS)('prepareDataset on $name', (backend) => {
  let db: Knex;
  let close: () => Promise<void>;
  const config = parseConfig(CONFIG, 'braid.yaml');
  const orders = cdnowOrders();
  let now = Date.UTC(2026, 0, 1);

  const stageOrders = (list: Order[], offset = 0) =>
    stageRecords(
      db,
      list.map((o, i): StageRow => ({
        source: 'shop',
        recordKey: String(offset + i + 1),
        values: {
          order_id: String(offset + i + 1),
          customer_id: o.customerId,
          date: o.day,
          amount: o.dollars,
          cds: String(o.cds),
          channel: o.channel,
        },
        sourceUpdatedAtMs: null,
        origin: `orders.csv:${offset + i + 2}`,
      })),
      now,
    );

  const run = async (runId: string) => {
    now += 60_000;
    await openRun(db, { runId, syncId: 's', trigger: 'test', startedAtMs: now });
    await unifyDataset(db, 'customers', config.datasets.customers!, { runId, nowMs: now });
    return prepareDatasetNow({ config, db, now: () => now }, { runId, dataset: 'customers' });
  };

  beforeAll(async () => {
    ({ db, close } = await backend.open());
    await migrate(db);
    const customers: StageRow[] = [];
    for (let id = 1; id <= CUSTOMERS; id++) {
      const customerId = String(id).padStart(5, '0');
      customers.push({
        source: 'crm',
        recordKey: `r${id}`,
        values: {
          row_id: `r${id}`,
          customer_id: ` ${customerId} `,
          email: `customer${id}@example.com`,
          first_name: id % 2 ? 'ANNE-MARIE' : 'paul',
          status: id === 7 ? 'closed' : 'open',
        },
        sourceUpdatedAtMs: null,
        origin: `customers.csv:${id + 1}`,
      });
    }
    await stageRecords(db, customers, now);
    await stageOrders(orders);
  });
  afterAll(() => close?.());

  it('computes fields and RFM equal to an independent SQL computation', async () => {
    const result = await run('run-1');

    const prepared = await loadPreparedRecords(db, 'customers');
    expect(prepared).toHaveLength(CUSTOMERS - 1);
    const byCustomer = new Map(prepared.map((p) => [p.attributes.customer_id, p.attributes]));
    const { rows, firstCds } = expectedBySql(orders);
    expect(rows).toHaveLength(CUSTOMERS - 1);
    expect(byCustomer.get(LEFT_OUT)).toBeUndefined();
    let compared = 0;
    for (const row of rows) {
      const got = byCustomer.get(row.c as string);
      expect(got).toMatchObject({
        order_count: String(row.n),
        total_spent: String(Number(row.cents) / 100),
        last_order: row.last,
        spent_90d: row.cents90 === null ? '' : String(Number(row.cents90) / 100),
        big_orders: String(row.big),
        first_cds: firstCds.get(row.c as string),
        fewest_cds: String(row.fewest),
        order_days: String(row.days),
        web_orders: String(row.web),
        unlabelled: String(row.unlabelled),
        last_channel: row.last_channel,
        recency_days: String(row.recency),
        frequency: String(row.n),
        monetary: (Number(row.cents) / 100).toFixed(2),
        r: String(row.r),
        f: String(row.f),
        m: String(row.m),
      });
      expect(Number(got!.avg_amount)).toBeCloseTo(Number(row.avg_dollars), 6);
      compared += 1;
    }
    expect(compared).toBe(CUSTOMERS - 1);
    expect(byCustomer.get('00001')!.first_name).toBe('Anne-Marie');
    expect(result).toMatchObject({
      eventsChanged: orders.length,
      eventsUnusable: 0,
      customersRecomputed: -1,
    });
    expect(result.recordsLeftOut).toBe(1);
  });

  it('recomputes only the customers new orders touch, and rescores the base', async () => {
    const before = new Map(
      (await loadPreparedRecords(db, 'customers')).map((p) => [p.masterId, p.attributes]),
    );
    const added: Order[] = [
      { customerId: '00002', day: '1998-06-30', cds: 6, dollars: '250.00', channel: 'web' },
      { customerId: '00003', day: '1998-06-29', cds: 1, dollars: '10.00', channel: '' },
    ];
    await stageOrders(added, orders.length);

    const result = await run('run-2');

    expect(result).toMatchObject({ eventsChanged: 2, customersRecomputed: 2 });
    const after = await loadPreparedRecords(db, 'customers');
    const two = after.find((p) => p.attributes.customer_id === '00002')!.attributes;
    const all = [...orders, ...added];
    const { rows } = expectedBySql(all);
    const expected = rows.find((r) => r.c === '00002')!;
    expect(two).toMatchObject({
      order_count: String(expected.n),
      recency_days: '1',
      r: String(expected.r),
    });
    expect(Number(two.total_spent)).toBeCloseTo(Number(expected.cents) / 100, 6);
    const unchanged = after.filter(
      (p) => JSON.stringify(p.attributes) === JSON.stringify(before.get(p.masterId)),
    );
    expect(unchanged.length).toBeGreaterThan(0);
  });

  it('changes nothing when run again with the same data', async () => {
    const result = await run('run-3');

    expect(result).toMatchObject({ eventsChanged: 0, customersRecomputed: 0, recordsChanged: 0 });
  });

  it('fails with the step and table, never a row value, when the database refuses a write', async () => {
    const leak = 'leak-check@example.com';
    await stageRecords(
      db,
      [
        {
          source: 'crm',
          recordKey: 'r1',
          values: { row_id: 'r1', customer_id: '00001', email: leak, status: 'open' },
          sourceUpdatedAtMs: null,
          origin: 'customers.csv:2',
        },
      ],
      now,
    );
    if (isPostgres(db)) {
      // PostgreSQL echoes values itself (a unique violation's "Key (email)=(…)", a bad cast's
      // input): this trigger does the same, as knex there sends the values apart from the SQL.
      await db.raw(`CREATE FUNCTION refuse() RETURNS trigger AS $$
                    BEGIN RAISE EXCEPTION 'refused %', NEW.attributes; END $$ LANGUAGE plpgsql`);
      await db.raw(
        'CREATE TRIGGER refuse BEFORE INSERT ON prepared_records FOR EACH ROW EXECUTE FUNCTION refuse()',
      );
    } else {
      await db.raw(
        `CREATE TRIGGER refuse BEFORE INSERT ON prepared_records BEGIN SELECT RAISE(ABORT, 'refused'); END`,
      );
    }

    const error = await run('run-4').then(
      () => undefined,
      (e: unknown) => e as PrepareStoreError,
    );

    expect(error).toBeInstanceOf(PrepareStoreError);
    expect(error!.message).toMatch(
      /^Preparing failed: writePrepared on prepared_records \((SQLITE_CONSTRAINT_TRIGGER|P0001)\)$/,
    );
    // The driver's error carries the row's values: that is what must not travel.
    expect(String((error!.cause as Error).message)).toContain(leak);
    const failure = toFailure(error);
    expect(failure).toMatchObject({ type: 'PrepareStoreError', nonRetryable: false });
    const recorded = JSON.stringify(
      new DefaultFailureConverter().errorToFailure(failure, defaultPayloadConverter),
    );
    expect(recorded).toContain('writePrepared');
    expect(recorded).not.toContain(leak);
    expect(recorded).not.toContain('insert into');

    await db.raw(
      isPostgres(db) ? 'DROP TRIGGER refuse ON prepared_records' : 'DROP TRIGGER refuse',
    );
    await run('run-5');
    const one = (await loadPreparedRecords(db, 'customers')).find(
      (p) => p.attributes.customer_id === '00001',
    );
    expect(one?.attributes.email).toBe(leak);
  });
});
