import type { CustomerAggregate } from '../rfm/aggregate';
import { roundCents, scoreAggregates } from '../rfm/score';
import type { SegmentGrid } from '../rfm/segments';

/** The fields RFM adds to a golden record (before the configured prefix). */
export const RFM_FIELDS = [
  'r',
  'f',
  'm',
  'fm',
  'segment',
  'recency_days',
  'frequency',
  'monetary',
] as const;

/** An aggregate as the events table gives it, at one scoring day. */
export interface RfmAggregate {
  customerKey: string;
  firstDay: number;
  lastDay: number;
  frequency: number;
  monetary: number;
}

export interface RfmFieldOptions {
  asOfDay: number;
  bins: number;
  grid: SegmentGrid;
  /** Look-backs in days; each adds `segment_<n>d_ago`, and together `segment_change`. */
  lookbackDays: readonly number[];
  prefix: string;
}

/**
 * Scores the whole base at the as-of day and at each look-back (sextiles are relative to the
 * base, so every customer is rescored from the stored aggregates; only aggregates are kept per
 * customer) and returns each customer's fields as text. `segment_change` is the path of
 * segments from the oldest look-back to now, repeats collapsed (`loyal → at_risk`), empty when
 * unchanged, as in domain/rfm/history.ts segmentTrails.
 */
export function rfmFields(
  byPoint: ReadonlyMap<number, readonly RfmAggregate[]>,
  opts: RfmFieldOptions,
): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  const score = (point: number) =>
    scoreAggregates(
      (byPoint.get(point) ?? []).map(toCustomerAggregate),
      opts.asOfDay - point,
      opts,
    );
  const p = opts.prefix;

  for (const row of score(0).rows) {
    out.set(row.customerId, {
      [`${p}r`]: String(row.r),
      [`${p}f`]: String(row.f),
      [`${p}m`]: String(row.m),
      [`${p}fm`]: String(row.fm),
      [`${p}segment`]: row.segment,
      [`${p}recency_days`]: String(row.recencyDays),
      [`${p}frequency`]: String(row.frequency),
      [`${p}monetary`]: roundCents(row.monetary).toFixed(2),
    });
  }
  if (opts.lookbackDays.length === 0) return out;

  const earlier = opts.lookbackDays.map((days) => {
    const segments = new Map(score(days).rows.map((row) => [row.customerId, row.segment]));
    return { days, segments };
  });
  const oldestFirst = [...earlier].sort((a, b) => b.days - a.days);
  for (const [customer, fields] of out) {
    for (const point of earlier)
      fields[`${p}segment_${point.days}d_ago`] = point.segments.get(customer) ?? '';
    const path: string[] = [];
    for (const point of oldestFirst) {
      const segment = point.segments.get(customer);
      if (segment !== undefined && segment !== path[path.length - 1]) path.push(segment);
    }
    const now = fields[`${p}segment`]!;
    if (now !== path[path.length - 1]) path.push(now);
    fields[`${p}segment_change`] = path.length > 1 ? path.join(' → ') : '';
  }
  return out;
}

function toCustomerAggregate(agg: RfmAggregate): CustomerAggregate {
  return {
    customerId: agg.customerKey,
    firstOrderDay: agg.firstDay,
    lastOrderDay: agg.lastDay,
    frequency: agg.frequency,
    monetary: agg.monetary,
    orderIds: [],
  };
}
