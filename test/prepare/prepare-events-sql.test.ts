import type { Knex } from 'knex';

import { prepareDatasetNow } from '../../activities/prepare';
import { parseConfig } from '../../config/load';
import { migrate } from '../../store/db';
import { openRun } from '../../store/runs';
import { stageRecords, type StageRow } from '../../store/staging';
import { BACKENDS } from '../support/databases';

/**
 * An events dataset without source-level recipes is materialized by one INSERT ... SELECT that
 * reads the JSON in the database; with a recipe, every record goes through JavaScript. Both
 * must give the same rows, whatever the values look like: the SQL takes only what it reads
 * exactly as toEvent does and leaves the rest to JavaScript.
 */
const config = (recipes: string) =>
  parseConfig(
    `
database: { client: sqlite, filename: ':memory:' }
sources:
  crm: { type: sftp, host: 127.0.0.1, username: u, password: { env: X }, pattern: '^c', recordKey: id }
  shop: { type: sftp, host: 127.0.0.1, username: u, password: { env: X }, pattern: '^o', recordKey: order_id }
datasets:
  customers:
    sources: [crm]
    keys: [{ name: email, columns: [email], normalize: email }]
    links: { orders: { dataset: orders, field: id } }
    computed:
      n: { link: orders, op: count }
      total: { link: orders, op: sum, column: amount }
    scores: { rfm: { link: orders } }
    asOf: '2026-01-01'
  orders:
    kind: events
    sources: [shop]
    ${recipes}
    events: { customer: customer_id, date: date, amount: amount, orderId: ref }
destinations:
  braze: { type: braze, endpoint: 'http://127.0.0.1:1', apiKey: { env: X } }
syncs:
  s: { dataset: customers, destination: braze, mapping: { n: n } }
`,
    'events-sql.yaml',
  );

/** A recipe on a column no event reads: it changes nothing but forces the JavaScript path. */
const NO_OP_RECIPE = 'recipes: [{ type: trim, level: source, columns: [note] }]';

const ORDERS: Array<Record<string, string>> = [
  { customer_id: 'c1', date: '2025-12-31', amount: '10.50', ref: 'A1' },
  { customer_id: 'c1', date: '2025-12-31', amount: '-2', ref: 'A1' },
  { customer_id: ' c2', date: '2024-02-29', amount: '007', ref: ' B2 ' },
  { customer_id: 'c2\t', date: '2023-02-29', amount: '1' },
  { customer_id: 'c3', date: '2025-06-01T23:30:00+02:00', amount: ' 3.25 ' },
  { customer_id: 'c3', date: '2025-06-01 10:00', amount: '1e2', ref: '' },
  { customer_id: 'c3', date: ' 2025-06-02 ', amount: '', ref: '   ' },
  { customer_id: '', date: '2025-01-01', amount: '1' },
  { customer_id: '   ', date: '2025-01-01', amount: '1' },
  { date: '2025-01-01', amount: '1' },
  { customer_id: 'c4', date: '2025-13-01', amount: '1' },
  { customer_id: 'c4', date: '2025-04-31', amount: '1' },
  { customer_id: 'c4', date: '0099-01-01', amount: '1' },
  { customer_id: 'c4', date: '1900-02-29', amount: '1' },
  { customer_id: 'c4', date: '2000-02-29', amount: '2.' },
  { customer_id: 'c5', date: '2025-05-05', amount: 'abc' },
  { customer_id: 'c5', date: '2025-05-05', amount: '.5' },
  { customer_id: 'c5', date: '2025-05-05', amount: '1.2.3' },
  { customer_id: 'c5', date: '2025-05-05', ref: 'X' },
  { customer_id: 'Zoë', date: '2025-05-06', amount: '4', ref: 'é1' },
  { customer_id: '\u00a0c6', date: '2025-05-06', amount: '4' },
  { customer_id: 'c6', date: '2025-05-06', amount: '12345678901234567890123', ref: 'R' },
  { customer_id: 'c7', date: 'yesterday', amount: '1' },
  { customer_id: 'c7', date: '2025/05/06', amount: '1' },
  { customer_id: 'c8', date: '2025-05-07', amount: '0x1F' },
];

async function materialize(db: Knex, recipes: string) {
  await migrate(db);
  const rows = ORDERS.map((values, i): StageRow => ({
    source: 'shop',
    recordKey: `o${i + 1}`,
    values: { order_id: `o${i + 1}`, ...values },
    sourceUpdatedAtMs: null,
    origin: `orders.csv:${i + 2}`,
  }));
  await stageRecords(db, rows, 1000);
  await openRun(db, { runId: 'r1', syncId: 's', trigger: 'test', startedAtMs: 2000 });
  const result = await prepareDatasetNow(
    { config: config(recipes), db, now: () => 3000 },
    { runId: 'r1', dataset: 'customers' },
  );
  const events = await db('prepared_events as p')
    .join('source_records as s', 's.id', 'p.record_id')
    .where('p.dataset', 'orders')
    .orderBy('s.record_key')
    .select(
      's.record_key',
      'p.usable',
      'p.customer_key',
      'p.day',
      'p.at',
      'p.amount',
      'p.order_id',
      'p.content_hash',
      's.content_hash as staged_hash',
      'p.payload',
    );
  const errors = await db('row_errors')
    .where({ run_id: 'r1' })
    .orderBy('line')
    .select('line', 'field', 'reason');
  return {
    result,
    errors,
    events: events.map((e) => ({
      ...e,
      usable: Boolean(e.usable),
      day: Number(e.day),
      amount: e.amount === null ? null : Number(e.amount),
      payload: JSON.parse(e.payload),
    })),
  };
}

describe.each(BACKENDS)('events materialized in SQL on $name', (backend) => {
  it('are the rows JavaScript materializes, unusable ones and their reasons included', async () => {
    const inSql = await backend.open();
    const inJs = await backend.open();
    try {
      const sql = await materialize(inSql.db, '');
      const js = await materialize(inJs.db, NO_OP_RECIPE);

      expect(sql.events).toHaveLength(ORDERS.length);
      for (const e of sql.events) expect(e.content_hash).toBe(e.staged_hash);
      expect(sql.events).toEqual(js.events);
      expect(sql.errors).toEqual(js.errors);
      expect(sql.result.eventsUnusable).toBe(js.result.eventsUnusable);
      expect(sql.result.eventsChanged).toBe(ORDERS.length);
      expect(js.result.eventsChanged).toBe(ORDERS.length);

      const byKey = new Map(sql.events.map((e) => [e.record_key as string, e]));
      // Values the SQL reads itself, and values it leaves to JavaScript, read the same way.
      expect(byKey.get('o1')).toMatchObject({
        usable: true,
        customer_key: 'c1',
        day: 20453,
        amount: 10.5,
        order_id: 'A1',
      });
      expect(byKey.get('o3')).toMatchObject({
        usable: true,
        customer_key: 'c2',
        amount: 7,
        order_id: 'B2',
      });
      expect(byKey.get('o4')).toMatchObject({ usable: false });
      expect(byKey.get('o5')).toMatchObject({ usable: true, day: 20240, amount: 3.25 });
      expect(byKey.get('o7')).toMatchObject({
        usable: true,
        at: '2025-06-02',
        amount: null,
        order_id: null,
      });
      expect(byKey.get('o14')).toMatchObject({ usable: false });
      expect(byKey.get('o15')).toMatchObject({ usable: true, amount: 2 });
      expect(byKey.get('o16')).toMatchObject({ usable: false });
      expect(byKey.get('o20')).toMatchObject({ usable: true, customer_key: 'Zoë', order_id: 'é1' });
      // Number() would read this as 31.
      expect(byKey.get('o25')).toMatchObject({ usable: false, customer_key: '', amount: null });
      expect(sql.result.eventsUnusable).toBe(13);
    } finally {
      await inSql.close();
      await inJs.close();
    }
  });
});

describe.each(BACKENDS)('events changed since the last prepare on $name', (backend) => {
  it('reads the records changed since, new, changed, deleted and late-staged alike', async () => {
    const { db, close } = await backend.open();
    const DAY = 86_400_000;
    const stage = (at: number, rows: Array<[string, Record<string, string>, boolean?]>) =>
      stageRecords(
        db,
        rows.map(([key, values, deleted]): StageRow => ({
          source: 'shop',
          recordKey: key,
          values: { order_id: key, ...values },
          sourceUpdatedAtMs: null,
          origin: `orders.csv:${key}`,
          deleted,
        })),
        at,
      );
    const prepare = async (runId: string, at: number) => {
      await openRun(db, { runId, syncId: 's', trigger: 'test', startedAtMs: at });
      return prepareDatasetNow(
        { config: config(''), db, now: () => at },
        { runId, dataset: 'customers' },
      );
    };
    const events = async () =>
      (
        await db('prepared_events')
          .where({ dataset: 'orders', usable: true })
          .orderBy('order_id')
          .select('order_id', 'customer_key', 'amount')
      ).map((e) => `${e.customer_key}:${e.order_id}:${Number(e.amount)}`);
    try {
      await migrate(db);
      await stage(DAY, [
        ['o1', { customer_id: 'c1', date: '2025-01-01', amount: '1', ref: 'o1' }],
        ['o2', { customer_id: 'c1', date: '2025-01-02', amount: '2', ref: 'o2' }],
        ['o3', { customer_id: 'c2', date: '2025-01-03', amount: '3', ref: 'o3' }],
      ]);
      await prepare('r1', DAY + 1000);

      await stage(2 * DAY, [
        ['o2', { customer_id: 'c2', date: '2025-01-02', amount: '20', ref: 'o2' }],
        ['o3', {}, true],
        ['o4', { customer_id: 'c3', date: '2025-01-04', amount: '4', ref: 'o4' }],
      ]);
      const result = await prepare('r2', 2 * DAY + 1000);

      expect(result.eventsChanged).toBe(3);
      expect(result.customersRecomputed).toBe(3);
      expect(await events()).toEqual(['c1:o1:1', 'c2:o2:20', 'c3:o4:4']);
      expect((await prepare('r3', 3 * DAY)).eventsChanged).toBe(0);

      // A staging clock two days behind the last prepare (a worker with a wrong clock, or a
      // transaction that committed late): the change sequence still finds the record.
      await stage(DAY, [['o5', { customer_id: 'c4', date: '2025-01-05', amount: '5', ref: 'o5' }]]);
      const late = await prepare('r4', 3 * DAY + 1000);
      expect(late.eventsChanged).toBe(1);
      expect(await events()).toEqual(['c1:o1:1', 'c2:o2:20', 'c3:o4:4', 'c4:o5:5']);
    } finally {
      await close();
    }
  });
});
