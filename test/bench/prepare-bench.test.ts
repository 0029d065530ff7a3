import type { Knex } from 'knex';
import { formatPrepareTable, parsePrepareArgs, runPrepareBench } from '../../bench/prepare-bench';
import { runCase, statementKind, type PrepareCaseInput } from '../../bench/prepare-case';
import { runDbOnly } from '../../bench/prepare-db-only';
import { ordersPerCustomer } from '../../bench/prepare-generate';
import {
  ASOF_DAY,
  benchConfig,
  checkPrepared,
  prepareOnce,
  stageCustomers,
  stageNewOrders,
  stageOrders,
  unifyCustomers,
  writeGoldenCustomers,
} from '../../bench/prepare-steps';
import { migrate } from '../../store/db';
import { BACKENDS, PG_URL } from '../support/databases';

const ORDERS = 20_000;
const SEED = 11;

describe('ordersPerCustomer', () => {
  it('gives a skewed, deterministic split that adds up to the orders', () => {
    const counts = ordersPerCustomer(1_000_000, SEED);

    const total = counts.reduce((a, b) => a + b, 0);
    const upToThree = counts.filter((n) => n <= 3).length;
    expect(total).toBe(1_000_000);
    expect(counts.length).toBeGreaterThan(80_000);
    expect(counts.length).toBeLessThan(125_000);
    expect(upToThree / counts.length).toBeGreaterThan(0.7);
    expect(Math.max(...counts)).toBeGreaterThan(1000);
    expect(ordersPerCustomer(1_000_000, SEED)).toEqual(counts);
  });

  it('scales to a given number of customers, each with an order', () => {
    const counts = ordersPerCustomer(50_000, SEED, 10_000);

    expect(counts).toHaveLength(10_000);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(50_000);
    expect(Math.min(...counts)).toBe(1);
  });
});

describe.each(BACKENDS)('prepare bench steps on $name', (backend) => {
  let db: Knex;
  let close: () => Promise<void>;
  const counts = ordersPerCustomer(ORDERS, SEED);

  beforeAll(async () => {
    ({ db, close } = await backend.open());
    await migrate(db);
    await stageOrders(db, counts, SEED);
    await stageCustomers(db, counts);
    await writeGoldenCustomers(db, counts);
  });
  afterAll(() => close?.());

  it('prepares every customer to the values of the db-only queries', async () => {
    const result = await prepareOnce(db, benchConfig(), 'full');

    const withOrders = counts.length;
    expect(result).toMatchObject({
      eventsChanged: ORDERS,
      eventsUnusable: 0,
      customersRecomputed: -1,
    });
    expect(result.recordsPrepared).toBe(withOrders + Math.ceil(withOrders * 0.02));
    const check = await checkPrepared(db);
    expect(check.mismatches).toEqual([]);
    expect(check.compared).toBe(withOrders);
    expect(check.withoutOrders).toBe(Math.ceil(withOrders * 0.02));
    const computed = await runDbOnly(db, 'computed', ASOF_DAY);
    const rfm = await runDbOnly(db, 'rfm', ASOF_DAY);
    expect(computed.customers).toBe(withOrders);
    expect(rfm.customers).toBe(withOrders);
    const sums = await db('prepared_records').select('attributes');
    const orders = sums.reduce((n, r) => n + Number(JSON.parse(r.attributes).order_count), 0);
    expect(orders).toBe(ORDERS);
  });

  it('recomputes only the customers of new orders and stays equal to db-only', async () => {
    await stageNewOrders(db, counts, ORDERS, 300, SEED);

    const result = await prepareOnce(db, benchConfig(), 'incremental');

    expect(result.eventsChanged).toBe(300);
    expect(result.customersRecomputed).toBeGreaterThan(200);
    expect(result.customersRecomputed).toBeLessThanOrEqual(300);
    expect((await checkPrepared(db)).mismatches).toEqual([]);
  });

  it('reports a prepared value that differs from the db-only one', async () => {
    const row = await db('prepared_records')
      .where({ dataset: 'customers' })
      .orderBy('master_id')
      .first();
    const attributes = JSON.parse(row.attributes);
    await db('prepared_records')
      .where({ dataset: 'customers', master_id: row.master_id })
      .update({
        attributes: JSON.stringify({ ...attributes, r: attributes.r === '1' ? '2' : '1' }),
      });

    const check = await checkPrepared(db);

    expect(check.mismatches).toHaveLength(1);
    expect(check.mismatches[0]).toMatch(new RegExp(`^${attributes.customer_id} r: `));
  });
});

describe.each(BACKENDS)('bench golden records on $name', (backend) => {
  it('are the records unify makes of the staged profiles', async () => {
    const counts = ordersPerCustomer(3000, SEED);
    const golden = async (write: (db: Knex) => Promise<unknown>) => {
      const { db, close } = await backend.open();
      try {
        await migrate(db);
        await stageCustomers(db, counts);
        await write(db);
        const rows = await db('golden_records')
          .where({ dataset: 'customers', status: 'active' })
          .select('attributes', 'source_keys', 'member_count');
        return rows
          .map(
            (r) => `${r.source_keys} ${JSON.stringify(JSON.parse(r.attributes))} ${r.member_count}`,
          )
          .sort();
      } finally {
        await close();
      }
    };

    const direct = await golden((db) => writeGoldenCustomers(db, counts));
    const unified = await golden((db) => unifyCustomers(db, benchConfig()));

    expect(direct).toHaveLength(counts.length + Math.ceil(counts.length * 0.02));
    expect(direct).toEqual(unified);
  });
});

describe('runPrepareBench', () => {
  const inProcess = async (input: PrepareCaseInput) => ({
    ...(await runCase(input)),
    peakRssMb: 1,
  });

  it.each(PG_URL ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const))(
    'runs every step on %s and gives prepare a ratio to the db-only time',
    async (target) => {
      const rows = await runPrepareBench({
        orders: ORDERS,
        target,
        pgUrl: PG_URL,
        batch: 500,
        seed: SEED,
        runStep: inProcess,
      });

      expect(rows.map((r) => r.case)).toEqual([
        'stage orders',
        'stage customers',
        'golden customers',
        'prepare (full)',
        'db-only computed',
        'db-only RFM',
        'db-only total',
        'check prepare = db-only',
        'stage new orders',
        'prepare (incremental)',
      ]);
      const byCase = new Map(rows.map((r) => [r.case, r]));
      const customers = ordersPerCustomer(ORDERS, SEED).length;
      expect(byCase.get('stage orders')!.records).toBe(ORDERS);
      expect(byCase.get('check prepare = db-only')!.records).toBe(customers);
      expect(byCase.get('db-only total')!.records).toBe(customers);
      expect(byCase.get('stage new orders')!.records).toBe(500);
      const full = byCase.get('prepare (full)')!;
      const dbOnly = byCase.get('db-only total')!.seconds;
      // Seconds are rounded to the millisecond in the rows, the ratio is not.
      expect(Math.abs(full.ratio! / (full.seconds / dbOnly) - 1)).toBeLessThan(0.05);
      expect(Object.keys(full.phases!)).toContain('js');
      expect(formatPrepareTable(rows)).toContain('prepare (full)');
    },
    120_000,
  );
});

describe('prepare bench helpers', () => {
  it('names statements by verb and table', () => {
    const insert = 'insert into "prepared_events" ("a") values (?)';
    const grouped = 'select customer_key, count(*) from `prepared_events` group by customer_key';
    expect(statementKind(insert)).toBe('insert prepared_events');
    expect(statementKind(grouped)).toBe('select prepared_events group by');
  });

  it('formats a table with ratios and phases', () => {
    const text = formatPrepareTable([
      {
        case: 'prepare (full)',
        target: 'sqlite',
        records: 1000,
        seconds: 3,
        ratio: 2.5,
        peakRssMb: 90,
        phases: { js: 1.5 },
      },
    ]);

    expect(text).toContain('2.50x');
    expect(text).toContain('1,000');
    expect(text).toContain('prepare (full) on sqlite: js 1.50 s');
  });

  it('reads the command line', () => {
    expect(parsePrepareArgs(['--orders', '1_000_000', '--only', 'sqlite'])).toMatchObject({
      orders: 1_000_000,
      targets: ['sqlite'],
    });
    expect(() => parsePrepareArgs(['--only', 'mysql'])).toThrow('--only');
  });
});
