import type { Knex } from 'knex';
import { isPostgres } from '../store/db';

/** The events dataset the bench prepares from (see prepare-steps.ts). */
const EVENTS = 'orders';
/** Window of the `spent_90d` computed field. */
export const WINDOW_DAYS = 90;
const BINS = 6;

/**
 * The computed fields of the bench, as one GROUP BY over the materialized events: what the
 * database alone needs to give each customer's count, sum, average, last order date and 90-day
 * sum. Prepare runs one such GROUP BY too (with RFM's aggregates in it), then stores, scores
 * and formats the values.
 */
export function computedSql(db: Knex, asOfDay: number): Knex.Raw {
  return db.raw(
    `SELECT customer_key, COUNT(*) AS n, SUM(amount) AS total, AVG(amount) AS avg_amount,
            MAX(at) AS last_order,
            SUM(CASE WHEN day > ? THEN amount END) AS spent_90d
     FROM prepared_events
     WHERE dataset = ? AND usable = ? AND day <= ?
     GROUP BY customer_key`,
    [asOfDay - WINDOW_DAYS, EVENTS, true, asOfDay],
  );
}

/**
 * RFM scores of the whole base in SQL: per-customer aggregates, then each score as
 * 1 + floor(6 × customers strictly worse / all), capped at 6, where "strictly worse" is
 * RANK() - 1 in the order that goes from worse to better (older last order, fewer orders, less
 * money). FxM scores the sum F + M by the same rule. Money ranks in whole cents, as prepare
 * compares sums at micro-unit precision and the generated amounts are whole cents.
 */
export function rfmSql(db: Knex, asOfDay: number): Knex.Raw {
  const least = isPostgres(db) ? 'LEAST' : 'MIN';
  const score = (order: string) =>
    `${least}(${BINS}, 1 + ${BINS} * (RANK() OVER (ORDER BY ${order}) - 1) / t)`;
  return db.raw(
    `WITH agg AS (
       SELECT customer_key, MAX(day) AS last_day, COUNT(DISTINCT order_id) AS frequency,
              ROUND(SUM(amount) * 100) AS cents
       FROM prepared_events
       WHERE dataset = ? AND usable = ? AND day <= ?
       GROUP BY customer_key),
     base AS (SELECT COUNT(*) AS t FROM agg),
     scored AS (
       SELECT customer_key, last_day, frequency, cents, t,
              ${score('last_day')} AS r, ${score('frequency')} AS f, ${score('cents')} AS m
       FROM agg, base)
     SELECT customer_key, ? - last_day AS recency_days, frequency, cents, r, f, m,
            ${score('f + m')} AS fm
     FROM scored`,
    [EVENTS, true, asOfDay, asOfDay],
  );
}

/** What a db-only query gave: its row count and a checksum over every column it returns. */
export interface DbOnlySummary {
  customers: number;
  checksum: number;
}

/**
 * Runs a db-only query to the end inside the database: an outer SELECT sums every column, so
 * no aggregate can be skipped, and no row travels to the client (prepare's transfer is its own
 * cost, counted in its time).
 */
export async function runDbOnly(
  db: Knex,
  which: 'computed' | 'rfm',
  asOfDay: number,
): Promise<DbOnlySummary> {
  const inner = which === 'computed' ? computedSql(db, asOfDay) : rfmSql(db, asOfDay);
  const columns =
    which === 'computed'
      ? ['n', 'total', 'avg_amount', 'spent_90d', 'LENGTH(last_order)']
      : ['recency_days', 'frequency', 'cents', 'r', 'f', 'm', 'fm'];
  const sum = columns.map((c) => `COALESCE(SUM(${c}), 0)`).join(' + ');
  const { sql, bindings } = inner.toSQL();
  const outer = `SELECT COUNT(*) AS customers, ${sum} AS checksum FROM (${sql}) AS q`;
  const result = await db.raw(outer, bindings as Knex.RawBinding[]);
  const row = (isPostgres(db) ? result.rows[0] : result[0]) as Record<string, unknown>;
  return { customers: Number(row.customers), checksum: Number(row.checksum) };
}

/** Every row of a db-only query, for comparing with what prepare wrote. */
export async function dbOnlyRows(db: Knex, which: 'computed' | 'rfm', asOfDay: number) {
  const result = await (which === 'computed' ? computedSql(db, asOfDay) : rfmSql(db, asOfDay));
  return (isPostgres(db) ? result.rows : result) as Array<Record<string, unknown>>;
}
