import { ConfigError } from '../../connectors/errors';
import type { CustomerAggregate, DatedOrder } from './aggregate';
import { aggregateOrders, updateAggregates } from './aggregate';
import { dayOf, dayParts } from './days';
import type { RfmResult } from './score';
import { scoreAggregates } from './score';
import type { SegmentGrid } from './segments';

/** The length of one historical RFM period. */
export type Period = 'year' | 'quarter' | 'month';

/** How a base is scored at each point in time. */
export interface ScoringOptions {
  bins: number;
  grid: SegmentGrid;
  /**
   * Only orders within this many days up to the scoring day count (the day itself included):
   * 365 keeps the last year. A customer with no order in the frame is not in that base.
   */
  windowDays?: number;
}

/** One period of historical RFM: its label, the day it was scored as of, and the scores. */
export interface PeriodScores {
  /** `1997`, `1997-Q3` or `1997-07`. */
  period: string;
  /** The period's last day, or the as-of day for the period that contains it. */
  scoredAsOfDay: number;
  result: RfmResult;
}

/**
 * Historical RFM: scores the base once per period, from the period holding the first order up
 * to the one holding `asOfDay`, each as of its last day with only the orders up to then (so the
 * last period is scored as of `asOfDay`). Customers enter the base with their first order;
 * with `windowDays` they also leave it while they have no order in the frame.
 *
 * `orders` must be sorted by day, as dateOrders returns them. Without a time frame the
 * aggregates are carried from one period to the next with updateAggregates, so the whole
 * history costs one pass over the orders plus one O(n log n) scoring per period.
 */
export function* scoreHistory(
  orders: readonly DatedOrder[],
  asOfDay: number,
  period: Period,
  opts: ScoringOptions,
): Generator<PeriodScores> {
  checkWindow(opts.windowDays);
  checkSorted(orders);
  const first = orders[0];
  if (first === undefined || first.day > asOfDay) return;

  const carried = new Map<string, CustomerAggregate>();
  let consumed = 0;
  for (let start = periodStart(first.day, period); start <= asOfDay;) {
    const next = nextStart(start, period);
    const scoredAsOfDay = Math.min(next - 1, asOfDay);
    let base: Iterable<CustomerAggregate>;
    if (opts.windowDays === undefined) {
      const upTo = upperBound(orders, scoredAsOfDay);
      const touched = updateAggregates(carried, orders.slice(consumed, upTo));
      for (const [id, agg] of touched) carried.set(id, agg);
      consumed = upTo;
      base = carried.values();
    } else {
      base = aggregateAsOf(orders, scoredAsOfDay, opts.windowDays).values();
    }
    const result = scoreAggregates(base, scoredAsOfDay, opts);
    yield { period: periodLabel(start, period), scoredAsOfDay, result };
    start = next;
  }
}

/**
 * Scores the base as of one day from sorted orders, with only the orders up to that day (and
 * within the time frame, when there is one).
 */
export function scoreAsOf(
  orders: readonly DatedOrder[],
  asOfDay: number,
  opts: ScoringOptions,
): RfmResult {
  checkWindow(opts.windowDays);
  checkSorted(orders);
  return scoreAggregates(aggregateAsOf(orders, asOfDay, opts.windowDays).values(), asOfDay, opts);
}

/** A customer's current segment, the segments some days earlier, and the path between them. */
export interface SegmentTrail {
  customerId: string;
  segment: string;
  /** Segment per look-back, in the order given; undefined while the customer had no orders. */
  earlier: (string | undefined)[];
  /**
   * The segments from the oldest look-back to now, repeats collapsed, joined by " → ", e.g.
   * `loyal → at_risk`; empty when the segment never changed. Look-backs at which the customer
   * was not in the base yet are left out, so a new customer's trail starts with its first
   * segment.
   */
  change: string;
}

/** Days back from the as-of day at which segments are compared by default. */
export const DEFAULT_LOOKBACK_DAYS: readonly number[] = [30, 90];

/**
 * For every customer of the base at `asOfDay`, its segment then and at each look-back (each
 * scored as of that earlier day with only the orders up to it), and the change between them.
 */
export function segmentTrails(
  orders: readonly DatedOrder[],
  asOfDay: number,
  opts: ScoringOptions & { lookbackDays?: readonly number[] },
): { current: RfmResult; trails: SegmentTrail[] } {
  const lookbacks = opts.lookbackDays ?? DEFAULT_LOOKBACK_DAYS;
  const current = scoreAsOf(orders, asOfDay, opts);
  const earlier = lookbacks.map((days) => {
    const bySegment = new Map<string, string>();
    for (const row of scoreAsOf(orders, asOfDay - days, opts).rows) {
      bySegment.set(row.customerId, row.segment);
    }
    return { days, bySegment };
  });
  const oldestFirst = [...earlier].sort((a, b) => b.days - a.days);

  const trails = current.rows.map((row): SegmentTrail => {
    const path: string[] = [];
    for (const point of oldestFirst) {
      const segment = point.bySegment.get(row.customerId);
      if (segment !== undefined && segment !== path[path.length - 1]) path.push(segment);
    }
    if (row.segment !== path[path.length - 1]) path.push(row.segment);
    return {
      customerId: row.customerId,
      segment: row.segment,
      earlier: earlier.map((point) => point.bySegment.get(row.customerId)),
      change: path.length > 1 ? path.join(' → ') : '',
    };
  });
  return { current, trails };
}

/** The first day of the period holding `day`. */
export function periodStart(day: number, period: Period): number {
  const { year, month } = dayParts(day);
  if (period === 'year') return dayOf(year, 1, 1);
  if (period === 'quarter') return dayOf(year, month - ((month - 1) % 3), 1);
  return dayOf(year, month, 1);
}

/** The label of the period starting on `start`: `1997`, `1997-Q3` or `1997-07`. */
export function periodLabel(start: number, period: Period): string {
  const { year, month } = dayParts(start);
  if (period === 'year') return String(year);
  if (period === 'quarter') return `${year}-Q${Math.ceil(month / 3)}`;
  return `${year}-${String(month).padStart(2, '0')}`;
}

function nextStart(start: number, period: Period): number {
  const { year, month } = dayParts(start);
  const months = period === 'year' ? 12 : period === 'quarter' ? 3 : 1;
  return dayOf(year, month + months, 1);
}

function aggregateAsOf(
  orders: readonly DatedOrder[],
  asOfDay: number,
  windowDays: number | undefined,
): Map<string, CustomerAggregate> {
  const upTo = upperBound(orders, asOfDay);
  const from = windowDays === undefined ? 0 : upperBound(orders, asOfDay - windowDays);
  return aggregateOrders(orders.slice(from, upTo));
}

function checkWindow(windowDays: number | undefined): void {
  if (windowDays !== undefined && !(Number.isInteger(windowDays) && windowDays >= 1)) {
    throw new ConfigError(`RFM: the time frame must be a whole number of days, not ${windowDays}`);
  }
}

// The binary searches below silently miss orders in an unsorted list; one pass rules that out.
function checkSorted(orders: readonly DatedOrder[]): void {
  for (let i = 1; i < orders.length; i++) {
    if ((orders[i] as DatedOrder).day < (orders[i - 1] as DatedOrder).day) {
      throw new RangeError('RFM history needs orders sorted by day, as dateOrders returns them');
    }
  }
}

/** Index of the first order dated after `day`, in orders sorted by day. */
function upperBound(orders: readonly DatedOrder[], day: number): number {
  let [lo, hi] = [0, orders.length];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((orders[mid] as DatedOrder).day <= day) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
