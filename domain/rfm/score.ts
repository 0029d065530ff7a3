import { BadInputError, ConfigError } from '../../connectors/errors';
import type { CustomerAggregate } from './aggregate';
import { isoDay } from './days';
import type { SegmentGrid } from './segments';
import { segmentOf } from './segments';

/** Which way a value gets better: more orders and more money are better, fewer days are. */
export type Better = 'higher' | 'lower';

/** Scores of one variable and how many of the bins they actually use. */
export interface ScoreColumn {
  scores: number[];
  binsUsed: number;
}

/**
 * Scores values 1 (low) to `bins` (high) as tie-aware quantiles of the whole base:
 *
 *   score = 1 + floor(bins × share of values strictly worse), capped at `bins`
 *
 * Equal values always get equal scores and the input order never matters, unlike NTILE, which
 * splits a tie by row order (trap BL-18). Heavy ties leave bins unused instead: 1,000 customers
 * with one order all score 1, however many bins there are, and `binsUsed` says so. Consequences
 * for tiny bases: no values give no scores; one customer, or any base where all values are
 * equal, scores 1 throughout (nobody is strictly worse); of two different values the worse
 * scores 1 and the better 1 + floor(bins / 2).
 *
 * Runs in O(n log n): one sort, then a binary search per value.
 */
export function tieAwareScores(
  values: readonly number[],
  bins: number,
  better: Better,
): ScoreColumn {
  checkBins(bins);
  const n = values.length;
  const sorted = Float64Array.from(values).sort();
  const scores = values.map((value) => {
    const worse = better === 'higher' ? lowerBound(sorted, value) : n - upperBound(sorted, value);
    // Integers throughout, so the floor is exact where a float share could land just below it.
    return Math.min(bins, 1 + Math.floor((bins * worse) / n));
  });
  return { scores, binsUsed: new Set(scores).size };
}

/** One customer's RFM values and scores. */
export interface RfmRow {
  customerId: string;
  recencyDays: number;
  frequency: number;
  /** Unrounded; round to cents when writing it out. */
  monetary: number;
  r: number;
  f: number;
  m: number;
  fm: number;
  segment: string;
}

/** Scores of a whole base, one row per customer sorted by customer id, and the bins used. */
export interface RfmResult {
  asOfDay: number;
  bins: number;
  rows: RfmRow[];
  binsUsed: { r: number; f: number; m: number; fm: number };
}

/**
 * Scores every customer of the base as of `asOfDay` from aggregates alone: recency is the whole
 * days from the last order's day to the as-of day (0 for an order on that day).
 *
 * F and M combine into FxM by scoring the sum F + M with the same tie-aware rule. Summing the
 * scores rather than the raw values weighs frequency and money equally whatever the currency;
 * re-scoring the sum keeps FxM a rank within the base on the same 1..bins scale as R, so each
 * cell of the segment grid means "this share of customers" on both axes, which rounding the
 * mean of F and M would not (with CDNOW's many one-order customers it would crowd the low
 * cells). Equal (F, M) pairs get equal FxM, and a higher F or M never lowers it.
 *
 * Monetary values compare at micro-unit precision, so sums that differ only by float rounding
 * (the same lines added in another order, or in another batch) are ties.
 */
export function scoreAggregates(
  aggregates: Iterable<CustomerAggregate>,
  asOfDay: number,
  opts: { bins: number; grid: SegmentGrid },
): RfmResult {
  if (opts.grid.bins !== opts.bins) {
    const what = `a ${opts.grid.bins}-bin segment grid cannot map ${opts.bins}-bin scores`;
    throw new ConfigError(`RFM: ${what}; give segments for ${opts.bins} bins`);
  }
  // A customer whose lines are all refunds bought nothing: not part of the base.
  const base = [...aggregates]
    .filter((a) => a.frequency > 0)
    .sort((a, b) => compareIds(a.customerId, b.customerId));
  for (const agg of base) {
    if (agg.lastOrderDay > asOfDay) {
      const late = `an order on ${isoDay(agg.lastOrderDay)}`;
      const rule = `after the as-of day ${isoDay(asOfDay)}`;
      throw new BadInputError(`RFM: customer ${agg.customerId} has ${late}, ${rule}`);
    }
  }

  const recency = base.map((agg) => asOfDay - agg.lastOrderDay);
  const r = tieAwareScores(recency, opts.bins, 'lower');
  const f = tieAwareScores(
    base.map((agg) => agg.frequency),
    opts.bins,
    'higher',
  );
  const m = tieAwareScores(
    base.map((agg) => monetaryKey(agg.monetary)),
    opts.bins,
    'higher',
  );
  const sums = f.scores.map((score, i) => score + (m.scores[i] as number));
  const fm = tieAwareScores(sums, opts.bins, 'higher');

  const rows = base.map((agg, i): RfmRow => {
    const [ri, fi, mi, fmi] = [r.scores[i], f.scores[i], m.scores[i], fm.scores[i]] as number[];
    return {
      customerId: agg.customerId,
      recencyDays: recency[i] as number,
      frequency: agg.frequency,
      monetary: agg.monetary,
      r: ri as number,
      f: fi as number,
      m: mi as number,
      fm: fmi as number,
      segment: segmentOf(opts.grid, ri as number, fmi as number),
    };
  });
  const binsUsed = { r: r.binsUsed, f: f.binsUsed, m: m.binsUsed, fm: fm.binsUsed };
  return { asOfDay, bins: opts.bins, rows, binsUsed };
}

/** Customers per segment, in the grid's segment order, zeros included. */
export function countSegments(rows: readonly RfmRow[], grid: SegmentGrid): Map<string, number> {
  const counts = new Map(grid.names.map((name) => [name, 0]));
  for (const row of rows) counts.set(row.segment, (counts.get(row.segment) ?? 0) + 1);
  return counts;
}

/** Rounds money to cents for output, half away from zero. */
export function roundCents(amount: number): number {
  const cents = Math.round(Math.abs(amount) * 100 + 1e-9);
  return (Math.sign(amount) * cents) / 100;
}

function monetaryKey(amount: number): number {
  return Math.round(amount * 1e6);
}

function checkBins(bins: number): void {
  if (!Number.isInteger(bins) || bins < 1 || bins > 100) {
    throw new ConfigError(`RFM: bins must be a whole number from 1 to 100, not ${bins}`);
  }
}

// Code-unit order, not localeCompare: the output order must not depend on the machine's locale.
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Index of the first value >= `value`: the count of values strictly below it. */
function lowerBound(sorted: Float64Array, value: number): number {
  let [lo, hi] = [0, sorted.length];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first value > `value`: the count of values at or below it. */
function upperBound(sorted: Float64Array, value: number): number {
  let [lo, hi] = [0, sorted.length];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
