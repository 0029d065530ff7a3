import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { isPostgres } from '../store/db';
import { copyField, copyInto } from '../store/pg-copy';

/** Source names of the generated orders and customer profiles (see prepare-steps.ts). */
export const ORDERS_SOURCE = 'shop';
export const CUSTOMERS_SOURCE = 'crm';
/** The as-of day of every bench run, so scores do not move with the calendar. */
export const AS_OF = '2026-01-01';
const AS_OF_DAY = Date.UTC(2026, 0, 1) / 86_400_000;
/** Orders span the three years before the as-of day. */
const HISTORY_DAYS = 3 * 365;
/**
 * Orders per customer follow a Pareto law with alpha 1 capped at 10,000: half the customers
 * order once, three in four at most three times, a few hundred thousands of times (resellers).
 * The mean is about 9.8, so 10 million orders come from about a million customers.
 */
const MAX_ORDERS_PER_CUSTOMER = 10_000;

/** Deterministic 32-bit generator (mulberry32): same seed, same data on every machine. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Orders per customer, in customer order, adding up to exactly `orders`. Without `customers`
 * the count of customers follows from the law; with it, the Pareto draws of that many customers
 * are scaled to the total (each keeping at least one order), so the skew keeps its shape.
 */
export function ordersPerCustomer(orders: number, seed: number, customers?: number): Int32Array {
  const next = random(seed);
  const draw = () => Math.min(MAX_ORDERS_PER_CUSTOMER, Math.floor(1 / (1 - next())));
  if (customers !== undefined) return scaled(orders, customers, draw);
  const counts: number[] = [];
  let total = 0;
  while (total < orders) {
    const n = Math.min(draw(), orders - total);
    counts.push(n);
    total += n;
  }
  return Int32Array.from(counts);
}

function scaled(orders: number, customers: number, draw: () => number): Int32Array {
  if (customers < 1 || customers > orders) {
    throw new Error(`prepare bench: ${customers} customers cannot share ${orders} orders`);
  }
  const raw = Float64Array.from({ length: customers }, draw);
  const extra = raw.reduce((a, b) => a + b - 1, 0);
  const factor = extra === 0 ? 0 : (orders - customers) / extra;
  const counts = Int32Array.from(raw, (r) => 1 + Math.floor((r - 1) * factor));
  let left = orders - counts.reduce((a, b) => a + b, 0);
  // Whatever rounding left over goes one order each to customers in turn.
  for (let i = 0; left > 0; i = (i + 1) % customers, left--) counts[i]! += 1;
  return counts;
}

/**
 * The id of the customer at position `i`: positions are scattered over the id space by a
 * multiplicative permutation, so consecutive orders do not arrive in customer-key order.
 */
export function customerId(i: number, customers: number): string {
  const scattered = Number((BigInt(i) * 2_654_435_761n) % BigInt(nextPrime(customers)));
  return `c${String(scattered).padStart(8, '0')}`;
}

const primes = new Map<number, number>();
function nextPrime(n: number): number {
  const known = primes.get(n);
  if (known !== undefined) return known;
  let p = Math.max(n, 2);
  const isPrime = (x: number) => {
    for (let d = 2; d * d <= x; d++) if (x % d === 0) return false;
    return true;
  };
  while (!isPrime(p)) p++;
  primes.set(n, p);
  return p;
}

/** One generated order line, as an export would give it. */
export interface GeneratedOrder {
  order_id: string;
  customer_id: string;
  date: string;
  amount: string;
}

function isoDay(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

/** Amounts are log-normal (median about 33.00), in cents, never zero. */
function amount(next: () => number): string {
  const normal = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return (Math.max(1, Math.round(Math.exp(3.5 + 0.8 * normal) * 100)) / 100).toFixed(2);
}

/**
 * Every order of every customer: each customer is active over a span of days within the last
 * three years, and orders fall uniformly within that span.
 */
export function* generateOrders(counts: Int32Array, seed: number): Generator<GeneratedOrder> {
  const next = random(seed ^ 0x5eed);
  let orderNo = 0;
  for (let i = 0; i < counts.length; i++) {
    const customer = customerId(i, counts.length);
    const start = AS_OF_DAY - Math.floor(next() * HISTORY_DAYS);
    const end = start + Math.floor(next() * (AS_OF_DAY - start + 1));
    for (let k = 0; k < counts[i]!; k++) {
      orderNo += 1;
      const day = start + Math.floor(next() * (end - start + 1));
      const date = isoDay(day);
      yield { order_id: `o${orderNo}`, customer_id: customer, date, amount: amount(next) };
    }
  }
}

/** `size` new orders of existing customers, dated in the last 30 days, numbered after `after`. */
export function* newOrders(counts: Int32Array, after: number, size: number, seed: number) {
  const next = random(seed ^ 0xadd);
  for (let k = 1; k <= size; k++) {
    const customer = customerId(Math.floor(next() * counts.length), counts.length);
    const day = AS_OF_DAY - Math.floor(next() * 30);
    const date = isoDay(day);
    yield { order_id: `o${after + k}`, customer_id: customer, date, amount: amount(next) };
  }
}

/** One row of source_records, as store/staging.ts writes it. */
interface SourceRow {
  key: string;
  payload: string;
  hash: string;
  origin: string;
}

function toSourceRow(key: string, values: object, origin: string): SourceRow {
  const payload = JSON.stringify(values);
  return { key, payload, hash: createHash('sha256').update(payload).digest('hex'), origin };
}

/**
 * Stages records straight into source_records, as stageRecords would leave them (same payload,
 * content hash and columns) but in bulk: on SQLite one transaction of prepared multi-row INSERTs
 * with the journal and fsync off (the bench's own throwaway file only); on PostgreSQL COPY FROM
 * STDIN. For new keys only: unlike stageRecords it does not compare with rows already there.
 * Returns the rows written.
 */
export async function bulkStage(
  db: Knex,
  source: string,
  rows: Iterable<{ key: string; values: object }>,
  nowMs: number,
): Promise<number> {
  const columns = ['source', 'record_key', 'payload', 'content_hash', 'staged_at_ms', 'origin'];
  const values = mapRows(rows, (row) => {
    const r = toSourceRow(row.key, row.values, `${source}:${row.key}`);
    return [source, r.key, r.payload, r.hash, nowMs, r.origin];
  });
  return bulkWrite(db, 'source_records', columns, values);
}

/**
 * Writes one active golden record per profile, as unify leaves a profile that matches no
 * other (attributes, source keys, one member): the rows the prepare step reads. The bench's
 * profiles have distinct emails, so unify would make exactly these clusters; writing them
 * directly keeps the identity engine's time (benched on its own) out of this bench's setup.
 */
export async function bulkGolden(
  db: Knex,
  dataset: string,
  source: string,
  profiles: Iterable<{ key: string; values: object }>,
  nowMs: number,
): Promise<number> {
  const columns = [
    'id',
    'master_id',
    'dataset',
    'status',
    'attributes',
    'source_keys',
    'linked_by',
    'member_count',
    'created_at_ms',
    'updated_at_ms',
  ];
  let id = 0;
  const values = mapRows(profiles, (p) => {
    id += 1;
    const attributes = JSON.stringify(p.values);
    const sourceKeys = JSON.stringify([`${source}:${p.key}`]);
    return [
      id,
      masterId(dataset, `${source}:${p.key}`),
      dataset,
      'active',
      attributes,
      sourceKeys,
      '[]',
      1,
      nowMs,
      nowMs,
    ];
  });
  const written = await bulkWrite(db, 'golden_records', columns, values);
  // COPY with explicit ids leaves the serial's sequence behind; a later unify inserts after them.
  if (isPostgres(db)) {
    await db.raw("SELECT setval(pg_get_serial_sequence('golden_records', 'id'), ?)", [
      Math.max(id, 1),
    ]);
  }
  return written;
}

/** A name-based (v5-style) UUID of the dataset and founding record, as unify derives one. */
function masterId(dataset: string, founder: string): string {
  const h = createHash('sha1').update(`${dataset}\u0000${founder}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

type Cell = string | number | null;

function* mapRows<T>(items: Iterable<T>, f: (item: T) => Cell[]): Generator<Cell[]> {
  for (const item of items) yield f(item);
}

/** Rows per prepared multi-row INSERT on SQLite (10 columns at most: 1,000 bound values). */
const SQLITE_ROWS_PER_STATEMENT = 100;
/** Rows per COPY on PostgreSQL: each COPY is buffered whole before its answer is read. */
const COPY_ROWS = 100_000;

async function bulkWrite(
  db: Knex,
  table: string,
  columns: string[],
  rows: Iterable<Cell[]>,
): Promise<number> {
  return isPostgres(db)
    ? postgresWrite(db, table, columns, rows)
    : sqliteWrite(db, table, columns, rows);
}

interface SqliteConnection {
  prepare(sql: string): { run(...values: unknown[]): unknown };
  pragma(sql: string): unknown;
  exec(sql: string): unknown;
}

async function sqliteWrite(
  db: Knex,
  table: string,
  columns: string[],
  rows: Iterable<Cell[]>,
): Promise<number> {
  // knex's better-sqlite3 connection is the driver's Database: its statements skip knex's SQL
  // building and binding, which costs more than SQLite's own insert at this size.
  const conn = (await db.client.acquireConnection()) as SqliteConnection;
  const list = columns.map((c) => `"${c}"`).join(', ');
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const statement = (n: number) =>
    conn.prepare(
      `INSERT INTO "${table}" (${list}) VALUES ${Array.from({ length: n }, () => tuple).join(', ')}`,
    );
  const many = statement(SQLITE_ROWS_PER_STATEMENT);
  const one = statement(1);
  // A throwaway bench file: the rollback journal in memory and no fsync while it is filled,
  // then back to the WAL mode every connection of Braid uses. In WAL mode one transaction of
  // millions of rows is written twice (into the WAL, then checkpointed); a rollback journal
  // holds only the few pages that existed before. better-sqlite3's defensive mode refuses
  // journal_mode OFF, and MEMORY costs next to nothing here.
  conn.pragma('journal_mode = MEMORY');
  conn.pragma('synchronous = OFF');
  conn.exec('BEGIN');
  let written = 0;
  try {
    let batch: Cell[] = [];
    for (const row of rows) {
      for (const cell of row) batch.push(cell);
      if (batch.length === SQLITE_ROWS_PER_STATEMENT * columns.length) {
        many.run(batch);
        written += SQLITE_ROWS_PER_STATEMENT;
        batch = [];
      }
    }
    for (let i = 0; i < batch.length; i += columns.length) {
      one.run(batch.slice(i, i + columns.length));
      written += 1;
    }
    conn.exec('COMMIT');
  } catch (error) {
    conn.exec('ROLLBACK');
    throw error;
  } finally {
    conn.pragma('synchronous = NORMAL');
    conn.pragma('journal_mode = WAL');
    await db.client.releaseConnection(conn);
  }
  return written;
}

async function postgresWrite(
  db: Knex,
  table: string,
  columns: string[],
  rows: Iterable<Cell[]>,
): Promise<number> {
  let lines: string[] = [];
  let written = 0;
  for (const row of rows) {
    lines.push(row.map(copyField).join('\t'));
    if (lines.length >= COPY_ROWS) {
      written += await copyInto(db, table, columns, lines);
      lines = [];
    }
  }
  if (lines.length > 0) written += await copyInto(db, table, columns, lines);
  return written;
}
