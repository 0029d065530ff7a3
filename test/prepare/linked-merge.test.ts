import Database from 'better-sqlite3';
import type { Knex } from 'knex';

import { prepareDatasetNow } from '../../activities/prepare';
import { parseConfig } from '../../config/load';
import { unifyDataset } from '../../identity/unify-dataset';
import { migrate } from '../../store/db';
import { rebuildEventTargets } from '../../store/event-delivery';
import { loadPreparedRecords } from '../../store/prepared';
import { openRun } from '../../store/runs';
import { stageRecords, type StageRow } from '../../store/staging';
import { BACKENDS } from '../support/databases';

const AS_OF = '2025-06-30';

// Customer ids are written untidily on purpose: the golden-level recipe tidies the golden
// field, and each member's id must be tidied the same way before it is looked up.
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
      - { type: trim, columns: [customer_id], case: upper }
    links: { orders: { dataset: orders, field: customer_id } }
    computed:
      order_count: { link: orders, op: count }
      total_spent: { link: orders, op: sum, column: amount }
      last_channel: { link: orders, op: last, column: channel }
      channels: { link: orders, op: distinct, column: channel }
    scores: { rfm: { link: orders } }
    asOf: '${AS_OF}'
  orders:
    kind: events
    sources: [shop]
    fields: { date: date, amount: number }
    events: { customer: customer_id, date: date, amount: amount, orderId: order_id }
destinations:
  braze: { type: braze, endpoint: 'http://127.0.0.1:1', apiKey: { env: X } }
syncs:
  s: { dataset: customers, destination: braze, identifier: email, mapping: { segment: segment } }
`;

interface Order {
  customerId: string;
  day: string;
  dollars: string;
  channel: string;
}

/** Ann has two customer ids (A1 and B7) and one email: one person. Z9 has no profile. */
const PEOPLE: Array<{ row: string; customerId: string; email: string }> = [
  { row: 'r1', customerId: ' a1', email: 'ann@example.com' },
  { row: 'r2', customerId: 'B7 ', email: 'ANN@example.com' },
  { row: 'r3', customerId: 'C3', email: 'cat@example.com' },
  { row: 'r4', customerId: 'D4', email: 'dan@example.com' },
  { row: 'r5', customerId: 'd4', email: 'dan@example.com' },
];

const ORDERS: Order[] = [
  { customerId: 'A1', day: '2025-01-10', dollars: '20.00', channel: 'web' },
  { customerId: 'A1', day: '2025-03-02', dollars: '35.50', channel: 'web' },
  { customerId: 'B7', day: '2025-02-14', dollars: '12.25', channel: 'shop' },
  { customerId: 'B7', day: '2025-05-20', dollars: '80.00', channel: 'phone' },
  { customerId: 'B7', day: '2024-11-30', dollars: '5.00', channel: 'shop' },
  { customerId: 'C3', day: '2025-06-01', dollars: '300.00', channel: 'web' },
  { customerId: 'D4', day: '2025-04-04', dollars: '40.00', channel: 'shop' },
  { customerId: 'D4', day: '2025-04-05', dollars: '41.00', channel: 'shop' },
  { customerId: 'D4', day: '2025-06-10', dollars: '42.00', channel: 'web' },
  { customerId: 'D4', day: '2024-12-24', dollars: '43.00', channel: 'web' },
  // A refund: less money, but neither an order nor recent activity for RFM.
  { customerId: 'D4', day: '2025-06-20', dollars: '-43.00', channel: 'web' },
  { customerId: 'Z9', day: '2025-05-05', dollars: '60.00', channel: 'web' },
  { customerId: 'Z9', day: '2025-05-06', dollars: '61.00', channel: 'web' },
];

/**
 * What each customer should get, in SQL on a separate database: orders grouped by person
 * (`unit`), RFM scored over the persons with orders who have a profile (`Z9` has none).
 */
function expectedBySql(orders: Order[], unitOf: Record<string, string>) {
  const sql = new Database(':memory:');
  sql.exec('CREATE TABLE o (seq INTEGER PRIMARY KEY, c TEXT, day TEXT, cents INT, channel TEXT)');
  sql.exec('CREATE TABLE u (c TEXT PRIMARY KEY, unit TEXT)');
  const insert = sql.prepare('INSERT INTO o (c, day, cents, channel) VALUES (?, ?, ?, ?)');
  for (const o of orders)
    insert.run(o.customerId, o.day, Math.round(Number(o.dollars) * 100), o.channel);
  const unit = sql.prepare('INSERT INTO u (c, unit) VALUES (?, ?)');
  for (const [c, u] of Object.entries(unitOf)) unit.run(c, u);
  const rows = sql
    .prepare(
      `WITH ou AS (SELECT o.*, COALESCE(u.unit, o.c) AS unit FROM o LEFT JOIN u ON u.c = o.c),
       agg AS (
         SELECT unit, COUNT(*) AS lines, SUM(CASE WHEN cents >= 0 THEN 1 END) AS n, SUM(cents) AS cents,
                COUNT(DISTINCT channel) AS channels,
                CAST(julianday(:asOf) - julianday(MAX(CASE WHEN cents >= 0 THEN day END)) AS INTEGER) AS recency,
                (SELECT channel FROM ou o2 WHERE o2.unit = ou.unit ORDER BY day DESC, seq DESC LIMIT 1)
                  AS last_channel
         FROM ou WHERE day <= :asOf AND unit <> 'Z9' GROUP BY unit),
       base AS (SELECT COUNT(*) AS total FROM agg)
       SELECT agg.*,
              MIN(6, 1 + 6 * (RANK() OVER (ORDER BY recency DESC) - 1) / total) AS r,
              MIN(6, 1 + 6 * (RANK() OVER (ORDER BY n) - 1) / total) AS f,
              MIN(6, 1 + 6 * (RANK() OVER (ORDER BY cents) - 1) / total) AS m
       FROM agg, base ORDER BY unit`,
    )
    .all({ asOf: AS_OF }) as Array<Record<string, number | string>>;
  sql.close();
  return new Map(rows.map((row) => [row.unit as string, row]));
}

function expectedFields(row: Record<string, number | string>) {
  return {
    order_count: String(row.lines),
    total_spent: String(Number(row.cents) / 100),
    channels: String(row.channels),
    last_channel: row.last_channel,
    recency_days: String(row.recency),
    frequency: String(row.n),
    monetary: (Number(row.cents) / 100).toFixed(2),
    r: String(row.r),
    f: String(row.f),
    m: String(row.m),
  };
}

describe.each(BACKENDS)(
  'links of golden records holding several customer ids, on $name',
  (backend) => {
    let db: Knex;
    let close: () => Promise<void>;
    const config = parseConfig(CONFIG, 'braid.yaml');
    let now = Date.UTC(2026, 0, 1);
    const orders = [...ORDERS];

    const stagePeople = (people: typeof PEOPLE) =>
      stageRecords(
        db,
        people.map((p, i): StageRow => ({
          source: 'crm',
          recordKey: p.row,
          values: { row_id: p.row, customer_id: p.customerId, email: p.email },
          sourceUpdatedAtMs: null,
          origin: `customers.csv:${i + 2}`,
        })),
        now,
      );
    const stageOrders = (list: Order[], offset: number) =>
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
    const byEmail = async () => {
      const prepared = await loadPreparedRecords(db, 'customers');
      return new Map(prepared.map((p) => [p.attributes.email!.toLowerCase(), p]));
    };

    beforeAll(async () => {
      ({ db, close } = await backend.open());
      await migrate(db);
      await stagePeople(PEOPLE);
      await stageOrders(ORDERS, 0);
    });
    afterAll(() => close?.());

    it('counts the orders of every id of a merged customer, and scores that customer once', async () => {
      const result = await run('run-1');

      const people = await byEmail();
      expect(people.size).toBe(3);
      const expected = expectedBySql(orders, { A1: 'ann', B7: 'ann' });
      expect([...expected.keys()].sort()).toEqual(['C3', 'D4', 'ann']);
      expect(people.get('ann@example.com')!.attributes).toMatchObject(
        expectedFields(expected.get('ann')!),
      );
      expect(people.get('ann@example.com')!.attributes.order_count).toBe('5');
      expect(people.get('cat@example.com')!.attributes).toMatchObject(
        expectedFields(expected.get('C3')!),
      );
      // Two records with the same id (written differently) are one key, not two.
      expect(people.get('dan@example.com')!.attributes).toMatchObject(
        expectedFields(expected.get('D4')!),
      );
      expect(result.customersRecomputed).toBe(-1);

      const keys = await db('link_keys')
        .where({ dataset: 'customers', link: 'orders' })
        .select('master_id', 'customer_key');
      const ann = people.get('ann@example.com')!.masterId;
      expect(keys.map((k) => `${k.master_id}:${k.customer_key}`).sort()).toEqual([
        `${ann}:A1`,
        `${ann}:B7`,
      ]);
    });

    it('sends the events of every id to the one profile', async () => {
      const targets = await rebuildEventTargets(db, {
        syncId: 's',
        dataset: 'customers',
        link: 'orders',
        linkField: 'customer_id',
        identifier: 'email',
      });

      const people = await byEmail();
      const rows = await db('event_targets')
        .where({ sync_id: 's' })
        .select('customer_key', 'master_id', 'external_id');
      const byKey = new Map(rows.map((r) => [r.customer_key as string, r]));
      expect(targets).toBe(4);
      for (const key of ['A1', 'B7']) {
        expect(byKey.get(key)).toMatchObject({
          master_id: people.get('ann@example.com')!.masterId,
        });
        expect(String(byKey.get(key)!.external_id).toLowerCase()).toBe('ann@example.com');
      }
      expect(byKey.get('C3')).toMatchObject({ master_id: people.get('cat@example.com')!.masterId });
      expect(byKey.get('D4')).toMatchObject({ master_id: people.get('dan@example.com')!.masterId });
    });

    it('recomputes the merged customer when an order arrives under its other id', async () => {
      const added: Order[] = [
        { customerId: 'B7', day: '2025-06-29', dollars: '99.00', channel: 'app' },
      ];
      await stageOrders(added, orders.length);
      orders.push(...added);

      const result = await run('run-2');

      // The key B7, and the golden record holding it.
      expect(result).toMatchObject({ eventsChanged: 1, customersRecomputed: 2 });
      const expected = expectedBySql(orders, { A1: 'ann', B7: 'ann' });
      const people = await byEmail();
      expect(people.get('ann@example.com')!.attributes).toMatchObject({
        ...expectedFields(expected.get('ann')!),
        order_count: '6',
        recency_days: '1',
        last_channel: 'app',
      });
      expect(people.get('dan@example.com')!.attributes).toMatchObject(
        expectedFields(expected.get('D4')!),
      );
    });

    it('gives each part its own orders again when the merged customer splits', async () => {
      await stagePeople([{ row: 'r2', customerId: 'B7 ', email: 'bea@example.com' }]);

      const result = await run('run-3');

      expect(result.eventsChanged).toBe(0);
      const expected = expectedBySql(orders, {});
      const people = await byEmail();
      expect(people.size).toBe(4);
      expect(people.get('ann@example.com')!.attributes).toMatchObject(
        expectedFields(expected.get('A1')!),
      );
      expect(people.get('bea@example.com')!.attributes).toMatchObject(
        expectedFields(expected.get('B7')!),
      );
      expect(people.get('ann@example.com')!.attributes.order_count).toBe('2');
      expect(people.get('bea@example.com')!.attributes.order_count).toBe('4');
      expect(await db('link_keys').where({ dataset: 'customers' }).select('master_id')).toEqual([]);
      expect(await db('prepared_master_aggregates').select('master_id')).toEqual([]);
    });

    it('links a key two golden records hold to the older one only', async () => {
      // Cat again, under a new email: a second golden record with her customer id.
      await stagePeople([{ row: 'r6', customerId: 'c3', email: 'cat.new@example.com' }]);

      await run('run-4');

      const people = await byEmail();
      expect(people.size).toBe(5);
      const expected = expectedBySql(orders, {});
      expect(people.get('cat@example.com')!.attributes).toMatchObject(
        expectedFields(expected.get('C3')!),
      );
      expect(people.get('cat.new@example.com')!.attributes).toMatchObject({
        customer_id: 'C3',
        order_count: '0',
        total_spent: '',
        channels: '0',
        frequency: '',
        r: '',
        segment: '',
      });
    });

    it('changes nothing when run again', async () => {
      const result = await run('run-5');

      expect(result).toMatchObject({ eventsChanged: 0, customersRecomputed: 0, recordsChanged: 0 });
    });
  },
);
