import type { DatedOrder } from '../../domain/rfm';
import {
  DEFAULT_SEGMENT_GRID,
  dateOrders,
  isoDay,
  parseIsoDay,
  periodLabel,
  periodStart,
  scoreAsOf,
  scoreHistory,
  segmentTrails,
} from '../../domain/rfm';

const day = (text: string): number => parseIsoDay(text) as number;
const OPTS = { bins: 6, grid: DEFAULT_SEGMENT_GRID };

// Real CDNOW lines of customers 00001, 00003 and 00009 (every line each has up to 1998-06-30).
const CDNOW_LINES: Array<[string, string, number]> = [
  ['00001', '1997-01-01', 11.77],
  ['00003', '1997-01-02', 20.76],
  ['00003', '1997-03-30', 20.76],
  ['00003', '1997-04-02', 19.54],
  ['00003', '1997-11-15', 57.45],
  ['00003', '1997-11-25', 20.96],
  ['00003', '1998-05-28', 16.99],
  ['00009', '1997-01-01', 23.54],
  ['00009', '1997-05-13', 30.33],
  ['00009', '1998-06-08', 41.98],
];
const ORDERS: DatedOrder[] = dateOrders(
  CDNOW_LINES.map(([customerId, date, amount]) => ({ customerId, date, amount })),
);

describe('periodStart and periodLabel', () => {
  it.each([
    ['year', '1997-11-15', '1997-01-01', '1997'],
    ['quarter', '1997-11-15', '1997-10-01', '1997-Q4'],
    ['quarter', '1998-03-31', '1998-01-01', '1998-Q1'],
    ['month', '1998-02-28', '1998-02-01', '1998-02'],
  ] as const)('puts a %s holding %s at %s, labelled %s', (period, text, start, label) => {
    const first = periodStart(day(text), period);

    expect(isoDay(first)).toBe(start);
    expect(periodLabel(first, period)).toBe(label);
  });
});

describe('scoreHistory', () => {
  it('scores each quarter as of its last day with only the orders up to then', () => {
    const periods = [...scoreHistory(ORDERS, day('1998-07-01'), 'quarter', OPTS)];

    const summary = periods.map((p) => [
      p.period,
      isoDay(p.scoredAsOfDay),
      p.result.rows.map((row) => `${row.customerId}:${row.frequency}/${row.recencyDays}`).join(' '),
    ]);
    expect(summary).toEqual([
      ['1997-Q1', '1997-03-31', '00001:1/89 00003:2/1 00009:1/89'],
      ['1997-Q2', '1997-06-30', '00001:1/180 00003:3/89 00009:2/48'],
      ['1997-Q3', '1997-09-30', '00001:1/272 00003:3/181 00009:2/140'],
      ['1997-Q4', '1997-12-31', '00001:1/364 00003:5/36 00009:2/232'],
      ['1998-Q1', '1998-03-31', '00001:1/454 00003:5/126 00009:2/322'],
      ['1998-Q2', '1998-06-30', '00001:1/545 00003:6/33 00009:3/22'],
      ['1998-Q3', '1998-07-01', '00001:1/546 00003:6/34 00009:3/23'],
    ]);
  });

  it.each([undefined, 365])('matches scoring each month from scratch (frame %p)', (windowDays) => {
    const asOf = day('1998-07-01');

    const periods = [...scoreHistory(ORDERS, asOf, 'month', { ...OPTS, windowDays })];

    expect(periods).toHaveLength(19);
    for (const p of periods) {
      expect(p.result).toEqual(scoreAsOf(ORDERS, p.scoredAsOfDay, { ...OPTS, windowDays }));
    }
  });

  it('drops customers without an order in the time frame', () => {
    const opts = { ...OPTS, windowDays: 365 };

    const periods = [...scoreHistory(ORDERS, day('1998-07-01'), 'year', opts)];

    const last = periods[periods.length - 1]!.result.rows;
    // The year up to 1998-07-01 starts after 1997-07-01: 00001's only order is outside it, so
    // 00001 left the base, and 00009 keeps one order of three.
    expect(last.map((row) => [row.customerId, row.frequency])).toEqual([
      ['00003', 3],
      ['00009', 1],
    ]);
  });

  it('yields nothing when every order is after the as-of day', () => {
    expect([...scoreHistory(ORDERS, day('1996-12-31'), 'year', OPTS)]).toEqual([]);
  });

  it('refuses orders that are not sorted by day', () => {
    const unsorted = [...ORDERS].reverse();

    expect(() => [...scoreHistory(unsorted, day('1998-07-01'), 'year', OPTS)]).toThrow(
      'sorted by day',
    );
  });
});

describe('segmentTrails', () => {
  it('gives the segments 30 and 90 days back and the path between them', () => {
    const { current, trails } = segmentTrails(ORDERS, day('1998-07-01'), OPTS);

    // Three customers: the best of each score gets 1 + floor(6 × 2/3) = 5, the middle one 3.
    expect(current.rows.map((row) => [row.r, row.fm, row.segment])).toEqual([
      [1, 1, 'lost'],
      [3, 5, 'loyal'],
      [5, 3, 'potential_loyalists'],
    ]);
    expect(trails).toEqual([
      { customerId: '00001', segment: 'lost', earlier: ['lost', 'lost'], change: '' },
      {
        customerId: '00003',
        segment: 'loyal',
        earlier: ['champions', 'champions'],
        change: 'champions → loyal',
      },
      {
        customerId: '00009',
        segment: 'potential_loyalists',
        earlier: ['needs_attention', 'needs_attention'],
        change: 'needs_attention → potential_loyalists',
      },
    ]);
  });

  it('leaves out look-backs before a customer’s first order', () => {
    const orders = dateOrders([
      { customerId: 'older', date: '2025-12-01', amount: 20 },
      { customerId: 'old', date: '2026-01-01', amount: 50 },
      { customerId: 'new', date: '2026-03-20', amount: 10 },
    ]);

    const { trails } = segmentTrails(orders, day('2026-04-01'), OPTS);

    expect(trails.find((t) => t.customerId === 'new')).toEqual({
      customerId: 'new',
      segment: 'new_customers',
      earlier: [undefined, undefined],
      change: '',
    });
  });
});
