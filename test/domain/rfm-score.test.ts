import { ConfigError } from '../../connectors/errors';
import type { CustomerAggregate } from '../../domain/rfm';
import {
  DEFAULT_SEGMENT_GRID,
  buildSegmentGrid,
  parseIsoDay,
  roundCents,
  scoreAggregates,
  tieAwareScores,
} from '../../domain/rfm';

// Customers 00001..00010 of CDNOW_master.txt, aggregated by hand from their lines up to
// 1998-07-01 (each line is one order): last order day, lines, dollars.
const CDNOW_FIRST_TEN: Array<[string, string, number, number]> = [
  ['00001', '1997-01-01', 1, 11.77],
  ['00002', '1997-01-12', 2, 89.0],
  ['00003', '1998-05-28', 6, 156.46],
  ['00004', '1997-12-12', 4, 100.5],
  ['00005', '1998-01-03', 11, 385.61],
  ['00006', '1997-01-01', 1, 20.99],
  ['00007', '1998-03-22', 3, 264.67],
  ['00008', '1998-03-29', 8, 197.66],
  ['00009', '1998-06-08', 3, 95.85],
  ['00010', '1997-01-21', 1, 39.31],
];

function aggregate(
  customerId: string,
  lastDay: string,
  frequency: number,
  monetary: number,
): CustomerAggregate {
  const day = parseIsoDay(lastDay) as number;
  return { customerId, firstOrderDay: day, lastOrderDay: day, frequency, monetary, orderIds: [] };
}

const AS_OF = parseIsoDay('1998-07-01') as number;
const TWELVE = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

describe('tieAwareScores', () => {
  it('gives BL-18 order counts [1,1,1,1,1,1,1,4,5,5] on 5 bins and reports 3 bins used', () => {
    const counts = [1, 1, 1, 1, 1, 1, 1, 2, 3, 8];

    const { scores, binsUsed } = tieAwareScores(counts, 5, 'higher');

    expect(scores).toEqual([1, 1, 1, 1, 1, 1, 1, 4, 5, 5]);
    expect(binsUsed).toBe(3);
  });

  it('gives every customer the same score in any row order (BL-18 shuffled)', () => {
    const ids = ['cust-01', 'cust-02', 'cust-03', 'cust-04', 'cust-05'].concat([
      'cust-06',
      'cust-07',
      'cust-08',
      'cust-09',
      'cust-10',
    ]);
    const counts = [1, 1, 1, 1, 1, 1, 1, 2, 3, 8];
    const shuffled = [7, 2, 9, 0, 5, 8, 1, 6, 3, 4];

    const { scores } = tieAwareScores(
      shuffled.map((i) => counts[i] as number),
      5,
      'higher',
    );

    const byId = Object.fromEntries(shuffled.map((i, k) => [ids[i], scores[k]]));
    expect(ids.map((id) => byId[id])).toEqual([1, 1, 1, 1, 1, 1, 1, 4, 5, 5]);
  });

  it.each([
    ['no customers', [], []],
    ['one customer', [3], [1]],
    ['two equal customers', [2, 2], [1, 1]],
    ['two different customers', [1, 2], [1, 4]],
    ['all-equal values', [5, 5, 5, 5, 5, 5, 5], [1, 1, 1, 1, 1, 1, 1]],
    ['six distinct values', [60, 10, 50, 20, 40, 30], [6, 1, 5, 2, 4, 3]],
    ['twelve values', TWELVE, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]],
  ])('scores %s on 6 bins', (_, values, expected) => {
    expect(tieAwareScores(values, 6, 'higher').scores).toEqual(expected);
  });

  it('counts larger values as worse for recency', () => {
    const recencyDays = [0, 0, 10, 200, 546, 546];

    const { scores, binsUsed } = tieAwareScores(recencyDays, 6, 'lower');

    // 0 days: four customers are strictly worse → 1 + floor(6 × 4/6) = 5.
    expect(scores).toEqual([5, 5, 4, 3, 1, 1]);
    expect(binsUsed).toBe(4);
  });

  it('never lowers a score as the value rises', () => {
    const values = CDNOW_FIRST_TEN.map(([, , , dollars]) => dollars);

    const { scores } = tieAwareScores(values, 6, 'higher');

    const pairs = values.map((v, i) => [v, scores[i] as number] as const);
    pairs.sort((a, b) => a[0] - b[0]);
    pairs.slice(1).forEach(([, score], i) => expect(score).toBeGreaterThanOrEqual(pairs[i]![1]));
  });

  it('refuses a bin count that is not a whole number from 1 to 100', () => {
    expect(() => tieAwareScores([1, 2], 0, 'higher')).toThrow(ConfigError);
    expect(() => tieAwareScores([1, 2], 2.5, 'higher')).toThrow('bins must be a whole number');
  });
});

describe('scoreAggregates', () => {
  it('scores the first ten CDNOW customers as of 1998-07-01', () => {
    const base = CDNOW_FIRST_TEN.map((row) => aggregate(...row));

    const result = scoreAggregates(base.reverse(), AS_OF, { bins: 6, grid: DEFAULT_SEGMENT_GRID });

    const table = result.rows.map((row) => {
      return [row.customerId, row.recencyDays, row.r, row.f, row.m, row.fm];
    });
    expect(table).toEqual([
      ['00001', 546, 1, 1, 1, 1],
      ['00002', 535, 2, 2, 2, 2],
      ['00003', 34, 5, 5, 4, 5],
      ['00004', 201, 3, 4, 4, 4],
      ['00005', 179, 4, 6, 6, 6],
      ['00006', 546, 1, 1, 1, 1],
      ['00007', 101, 4, 3, 5, 4],
      ['00008', 94, 5, 5, 5, 5],
      ['00009', 23, 6, 3, 3, 3],
      ['00010', 526, 2, 1, 2, 2],
    ]);
    expect(result.rows.map((row) => row.segment)).toEqual([
      'lost',
      'hibernating',
      'champions',
      'needs_attention',
      'loyal',
      'lost',
      'needs_attention',
      'champions',
      'potential_loyalists',
      'hibernating',
    ]);
    expect(result.binsUsed).toEqual({ r: 6, f: 6, m: 6, fm: 6 });
  });

  it('gives one customer, and an all-equal base, score 1 throughout', () => {
    const one = scoreAggregates([aggregate('a', '1998-01-01', 3, 50)], AS_OF, {
      bins: 6,
      grid: DEFAULT_SEGMENT_GRID,
    });
    const same = ['a', 'b', 'c'].map((id) => aggregate(id, '1998-01-01', 3, 50));
    const equal = scoreAggregates(same, AS_OF, { bins: 6, grid: DEFAULT_SEGMENT_GRID });

    for (const row of [...one.rows, ...equal.rows]) {
      expect([row.r, row.f, row.m, row.fm, row.segment]).toEqual([1, 1, 1, 1, 'lost']);
    }
    expect(equal.binsUsed).toEqual({ r: 1, f: 1, m: 1, fm: 1 });
    expect(scoreAggregates([], AS_OF, { bins: 6, grid: DEFAULT_SEGMENT_GRID }).rows).toEqual([]);
  });

  it('treats money sums that differ only by float rounding as ties', () => {
    const a = aggregate('a', '1998-01-01', 1, 0.1 + 0.2);
    const b = aggregate('b', '1998-01-01', 1, 0.3);

    const result = scoreAggregates([a, b], AS_OF, { bins: 6, grid: DEFAULT_SEGMENT_GRID });

    expect(0.1 + 0.2).not.toBe(0.3);
    expect(result.rows.map((row) => row.m)).toEqual([1, 1]);
  });

  it('refuses an aggregate with an order after the as-of day, naming the customer', () => {
    const late = aggregate('00042', '1998-07-02', 1, 10);

    const score = () => scoreAggregates([late], AS_OF, { bins: 6, grid: DEFAULT_SEGMENT_GRID });

    expect(score).toThrow(
      'customer 00042 has an order on 1998-07-02, after the as-of day 1998-07-01',
    );
  });

  it('refuses a grid built for another number of bins', () => {
    const grid = buildSegmentGrid([{ name: 'all', r: [1, 5], fm: [1, 5] }], 5);

    const score = () => scoreAggregates([], AS_OF, { bins: 6, grid });

    expect(score).toThrow('a 5-bin segment grid cannot map 6-bin scores');
  });
});

describe('roundCents', () => {
  it.each([
    [11.77 + 12.0 + 77.0, 100.77],
    [1.005, 1.01],
    [-2.675, -2.68],
    [0, 0],
  ])('rounds %d to %d', (amount, cents) => {
    expect(roundCents(amount)).toBe(cents);
  });
});
