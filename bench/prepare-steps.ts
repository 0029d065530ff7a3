import type { Knex } from 'knex';
import { prepareDatasetNow, type PrepareDatasetResult } from '../activities/prepare';
import { parseConfig } from '../config/load';
import type { BraidConfig } from '../config/schema';
import { formatNumber } from '../domain/computed/format';
import { parseIsoDay } from '../domain/rfm/days';
import { unifyDataset } from '../identity/unify-dataset';
import { loadPreparedRecords } from '../store/prepared';
import { openRun } from '../store/runs';
import { dbOnlyRows } from './prepare-db-only';
import {
  AS_OF,
  bulkGolden,
  bulkStage,
  CUSTOMERS_SOURCE,
  customerId,
  generateOrders,
  newOrders,
  ORDERS_SOURCE,
} from './prepare-generate';

/** Clock of the bench: staging, unify and prepare times are fixed so runs are comparable. */
const T0 = 1_767_225_600_000;
/**
 * Clock of the incremental run: the next day's new orders, staged and prepared a day later, as
 * a daily sync would see them (the as-of day is fixed in the config, so scores do not move).
 */
export const NEXT_DAY_MS = T0 + 86_400_000;
/** Profiles without any order, per 100 customers with orders. */
const WITHOUT_ORDERS_PER_100 = 2;

export const ASOF_DAY = parseIsoDay(AS_OF)!;

/** The bench's config: profiles unified by email, linked to orders; computed fields and RFM. */
export const PREPARE_BENCH_CONFIG = `
database: { client: sqlite, filename: ':memory:' }
sources:
  ${CUSTOMERS_SOURCE}: { type: sftp, host: 127.0.0.1, username: u, password: { env: X },
    pattern: '^c', recordKey: customer_id }
  ${ORDERS_SOURCE}: { type: sftp, host: 127.0.0.1, username: u, password: { env: X },
    pattern: '^o', recordKey: order_id }
datasets:
  customers:
    sources: [${CUSTOMERS_SOURCE}]
    keys: [{ name: email, columns: [email], normalize: email }]
    links: { orders: { dataset: orders, field: customer_id } }
    computed:
      order_count: { link: orders, op: count }
      total_spent: { link: orders, op: sum, column: amount }
      avg_amount: { link: orders, op: avg, column: amount }
      last_order: { link: orders, op: max, column: date }
      spent_90d: { link: orders, op: sum, column: amount, window: { days: 90 } }
    scores: { rfm: { link: orders } }
    asOf: '${AS_OF}'
  orders:
    kind: events
    sources: [${ORDERS_SOURCE}]
    fields: { amount: number }
    events: { customer: customer_id, date: date, amount: amount, orderId: order_id }
destinations:
  braze: { type: braze, endpoint: 'http://127.0.0.1:1', apiKey: { env: X } }
syncs:
  s: { dataset: customers, destination: braze, mapping: { segment: segment } }
`;

export function benchConfig(): BraidConfig {
  return parseConfig(PREPARE_BENCH_CONFIG, 'prepare-bench.yaml');
}

/** Seconds since `started` (a process.hrtime.bigint() reading). */
export function secondsSince(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/**
 * When the order history was staged: an hour before the first prepare, as an initial load
 * would be. An incremental prepare looks back from the previous one by a margin (15 minutes)
 * for late staging commits, so history staged seconds before it would be read again.
 */
const HISTORY_STAGED_MS = T0 - 3_600_000;

/** Stages every generated order; returns the seconds it took. */
export async function stageOrders(db: Knex, counts: Int32Array, seed: number): Promise<number> {
  const started = process.hrtime.bigint();
  const rows = mapIter(generateOrders(counts, seed), (o) => ({ key: o.order_id, values: o }));
  await bulkStage(db, ORDERS_SOURCE, rows, HISTORY_STAGED_MS);
  return secondsSince(started);
}

/** Stages one profile per customer with orders, plus a few without; returns the profiles. */
export async function stageCustomers(db: Knex, counts: Int32Array): Promise<number> {
  return bulkStage(db, CUSTOMERS_SOURCE, profiles(counts), T0);
}

/**
 * Writes the golden record of every staged profile, as unify leaves them (each profile has an
 * email of its own, so each is a cluster of one): the bench measures prepare, and the identity
 * engine has a bench of its own. unifyCustomers gives the same records, more slowly.
 */
export async function writeGoldenCustomers(db: Knex, counts: Int32Array): Promise<number> {
  return bulkGolden(db, 'customers', CUSTOMERS_SOURCE, profiles(counts), T0 + 1000);
}

function* profiles(counts: Int32Array) {
  const withOrders = counts.length;
  const without = Math.ceil((withOrders * WITHOUT_ORDERS_PER_100) / 100);
  for (let i = 0; i < withOrders; i++) yield profile(customerId(i, withOrders));
  for (let i = 1; i <= without; i++) yield profile(`n${String(i).padStart(8, '0')}`);
}

function profile(id: string) {
  return { key: id, values: { customer_id: id, email: `${id}@bench.example` } };
}

function* mapIter<T, U>(items: Iterable<T>, f: (item: T) => U): Generator<U> {
  for (const item of items) yield f(item);
}

/** Unifies the staged profiles once (golden records are what prepare writes onto). */
export async function unifyCustomers(db: Knex, config: BraidConfig): Promise<number> {
  await openRun(db, { runId: 'bench-unify', syncId: 's', trigger: 'bench', startedAtMs: T0 });
  const summary = await unifyDataset(db, 'customers', config.datasets.customers!, {
    runId: 'bench-unify',
    nowMs: T0 + 1000,
  });
  return summary.goldenRecords;
}

/** One prepare run, as the sync's prepare step would do it (without Temporal). */
export async function prepareOnce(
  db: Knex,
  config: BraidConfig,
  runId: string,
  nowMs = T0 + 2000,
): Promise<PrepareDatasetResult> {
  await openRun(db, { runId, syncId: 's', trigger: 'bench', startedAtMs: nowMs });
  return prepareDatasetNow({ config, db, now: () => nowMs }, { runId, dataset: 'customers' });
}

/** Stages `size` new orders after the first `orders`; returns the seconds it took. */
export async function stageNewOrders(
  db: Knex,
  counts: Int32Array,
  orders: number,
  size: number,
  seed: number,
): Promise<number> {
  const started = process.hrtime.bigint();
  const generated = newOrders(counts, orders, size, seed);
  const rows = mapIter(generated, (o) => ({ key: o.order_id, values: o }));
  await bulkStage(db, ORDERS_SOURCE, rows, NEXT_DAY_MS);
  return secondsSince(started);
}

/** How prepare's output compares with the db-only queries' rows. */
export interface PrepareCheck {
  /** Customers with orders whose every value was compared. */
  compared: number;
  /** Profiles without orders, checked to have a count of 0 and no scores. */
  withoutOrders: number;
  /** The first differences, as `customer field: prepare ≠ db-only`. */
  mismatches: string[];
}

/**
 * Compares every prepared record with the db-only computed and RFM rows of its customer: the
 * bench's guard that the time it reports is the time of a correct result.
 */
export async function checkPrepared(db: Knex): Promise<PrepareCheck> {
  const byCustomer = async (which: 'computed' | 'rfm') =>
    new Map((await dbOnlyRows(db, which, ASOF_DAY)).map((r) => [String(r.customer_key), r]));
  const computed = await byCustomer('computed');
  const rfm = await byCustomer('rfm');
  const check: PrepareCheck = { compared: 0, withoutOrders: 0, mismatches: [] };
  const differ = (who: string, field: string, got: unknown, want: unknown) => {
    if (check.mismatches.length >= 20) return;
    check.mismatches.push(`${who} ${field}: ${String(got)} ≠ ${String(want)}`);
  };

  for (const { attributes: a } of await loadPreparedRecords(db, 'customers')) {
    const who = a.customer_id!;
    const c = computed.get(who);
    const s = rfm.get(who);
    if (!c || !s) {
      check.withoutOrders += 1;
      const empty = { order_count: '0', total_spent: '', last_order: '', r: '', frequency: '' };
      for (const [field, want] of Object.entries(empty)) {
        if (a[field] !== want) differ(who, field, a[field], want);
      }
      continue;
    }
    check.compared += 1;
    const exact: Record<string, string> = {
      order_count: String(c.n),
      last_order: String(c.last_order),
      spent_90d: c.spent_90d === null ? '' : formatNumber(Number(c.spent_90d)),
      recency_days: String(s.recency_days),
      frequency: String(s.frequency),
      monetary: (Number(s.cents) / 100).toFixed(2),
      r: String(s.r),
      f: String(s.f),
      m: String(s.m),
      fm: String(s.fm),
    };
    for (const [field, want] of Object.entries(exact)) {
      if (a[field] !== want) differ(who, field, a[field], want);
    }
    // Sums and averages may be added in another order by the two queries: equal to 1e-6.
    for (const [field, want] of [
      ['total_spent', c.total],
      ['avg_amount', c.avg_amount],
    ] as const) {
      if (Math.abs(Number(a[field]) - Number(want)) > 1e-6 * Math.max(1, Math.abs(Number(want)))) {
        differ(who, field, a[field], want);
      }
    }
  }
  return check;
}
