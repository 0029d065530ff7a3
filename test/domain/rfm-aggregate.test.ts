import { readFileSync } from 'node:fs';

import { BadInputError } from '../../connectors/errors';
import type { CustomerAggregate, DatedOrder, Order } from '../../domain/rfm';
import {
  DEFAULT_SEGMENT_GRID,
  aggregateOrders,
  dateOrders,
  isoDay,
  parseIsoDay,
  scoreAggregates,
  toUtcDay,
  updateAggregates,
} from '../../domain/rfm';

const CDNOW = `${__dirname}/../../examples/data/cdnow/CDNOW_master.txt`;

/** CDNOW's lines as orders, read with a plain split (the orders reader has its own tests). */
function cdnowOrders(): Order[] {
  const lines = readFileSync(CDNOW, 'latin1').split('\n').slice(1);
  return lines
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length === 4)
    .map(([id, ymd, , dollars]) => ({
      customerId: id as string,
      date: `${ymd!.slice(0, 4)}-${ymd!.slice(4, 6)}-${ymd!.slice(6)}`,
      amount: Number(dollars),
    }));
}

const day = (text: string): number => parseIsoDay(text) as number;

describe('toUtcDay', () => {
  it.each([
    ['1998-07-01', '1998-07-01'],
    ['1998-07-01T23:30:00Z', '1998-07-01'],
    ['1998-07-01T23:30:00-02:00', '1998-07-02'],
    ['1998-07-01T01:00:00+0200', '1998-06-30'],
    ['1998-07-01 23:59', '1998-07-01'],
  ])('reads %s as the UTC day %s', (text, expected) => {
    expect(isoDay(toUtcDay(text) as number)).toBe(expected);
  });

  it.each(['1998-02-30', '19980701', '01/07/1998', '', '1998-07-01T25:00:00Z'])(
    'refuses %p',
    (text) => {
      expect(toUtcDay(text)).toBeUndefined();
    },
  );
});

describe('aggregateOrders', () => {
  it('counts each CDNOW line as an order: 69,659 orders of 23,570 customers', () => {
    const aggregates = aggregateOrders(dateOrders(cdnowOrders()));

    const all = [...aggregates.values()];
    expect(all).toHaveLength(23_570);
    expect(all.reduce((n, agg) => n + agg.frequency, 0)).toBe(69_659);
    expect(aggregates.get('00002')).toEqual({
      customerId: '00002',
      firstOrderDay: day('1997-01-12'),
      lastOrderDay: day('1997-01-12'),
      frequency: 2,
      monetary: 89,
      orderIds: [],
    });
  });

  it('counts lines that share an order id as one order of that customer', () => {
    const orders = dateOrders([
      { orderId: 'A-1', customerId: 'c1', date: '2026-01-05', amount: 10 },
      { orderId: 'A-1', customerId: 'c1', date: '2026-01-05', amount: 2.5 },
      { orderId: 'A-1', customerId: 'c2', date: '2026-01-06', amount: 7 },
      { customerId: 'c1', date: '2026-01-07', amount: 1 },
      { customerId: 'c1', date: '2026-01-07', amount: 1 },
    ]);

    const aggregates = aggregateOrders(orders);

    expect(aggregates.get('c1')).toMatchObject({ frequency: 3, monetary: 14.5, orderIds: ['A-1'] });
    expect(aggregates.get('c2')).toMatchObject({ frequency: 1, monetary: 7 });
  });

  it('ignores lines after the as-of day and on or before the start of a time frame', () => {
    const orders = dateOrders([
      { customerId: 'c1', date: '2026-01-01', amount: 1 },
      { customerId: 'c1', date: '2026-01-02', amount: 2 },
      { customerId: 'c1', date: '2026-01-10', amount: 4 },
      { customerId: 'c1', date: '2026-01-11', amount: 8 },
    ]);

    const opts = { afterDay: day('2026-01-01'), asOfDay: day('2026-01-10') };

    const aggregates = aggregateOrders(orders, opts);

    const expected = { frequency: 2, monetary: 6, lastOrderDay: day('2026-01-10') };
    expect(aggregates.get('c1')).toMatchObject(expected);
  });

  it('counts a refund in money only: not as an order, not as recent activity', () => {
    const orders = dateOrders([
      { orderId: 'A-1', customerId: 'c1', date: '2026-01-05', amount: 30 },
      { orderId: 'A-1', customerId: 'c1', date: '2026-01-20', amount: -10 },
      { customerId: 'c2', date: '2026-01-09', amount: -5 },
    ]);

    const aggregates = aggregateOrders(orders);

    expect(aggregates.get('c1')).toMatchObject({
      frequency: 1,
      monetary: 20,
      firstOrderDay: day('2026-01-05'),
      lastOrderDay: day('2026-01-05'),
    });
    expect(aggregates.get('c2')).toMatchObject({ frequency: 0, monetary: -5 });
    // A customer who only had refunds bought nothing: scored as no customer at all.
    const grid = DEFAULT_SEGMENT_GRID;
    const scored = scoreAggregates(aggregates.values(), day('2026-01-31'), { bins: 6, grid });
    expect(
      scored.rows.map((row) => [row.customerId, row.recencyDays, row.frequency, row.monetary]),
    ).toEqual([['c1', 26, 1, 20]]);
  });

  it('names the order whose date cannot be read', () => {
    const bad: Order[] = [{ orderId: 'X9', customerId: 'c7', date: '2026-13-01', amount: 1 }];

    expect(() => dateOrders(bad)).toThrow(BadInputError);
    expect(() => dateOrders(bad)).toThrow(
      'order X9 of customer c7: date is not a day or an instant',
    );
  });
});

describe('updateAggregates', () => {
  it('returns only touched customers and leaves the previous aggregates alone', () => {
    const previous = aggregateOrders(
      dateOrders([
        { orderId: 'o1', customerId: 'c1', date: '2026-01-01', amount: 5 },
        { customerId: 'c2', date: '2026-01-01', amount: 3 },
      ]),
    );
    const before = structuredClone([...previous]);

    const touched = updateAggregates(
      previous,
      dateOrders([
        { orderId: 'o1', customerId: 'c1', date: '2026-01-01', amount: 1 },
        { orderId: 'o2', customerId: 'c1', date: '2026-02-01', amount: 2 },
        { customerId: 'c3', date: '2026-02-02', amount: 9 },
      ]),
    );

    expect([...touched.keys()]).toEqual(['c1', 'c3']);
    expect(touched.get('c1')).toEqual({
      customerId: 'c1',
      firstOrderDay: day('2026-01-01'),
      lastOrderDay: day('2026-02-01'),
      frequency: 2,
      monetary: 8,
      orderIds: ['o1', 'o2'],
    });
    expect([...previous]).toEqual(before);
  });

  it('gives the same scores on CDNOW as aggregating every line at once', () => {
    const orders = dateOrders(cdnowOrders());
    const asOf = day('1998-07-01');
    const shuffled = shuffle(orders, 42);
    const full = aggregateOrders(orders);

    const incremental = new Map<string, CustomerAggregate>();
    for (let start = 0; start < shuffled.length; start += 7_919) {
      const batch = shuffled.slice(start, start + 7_919);
      for (const [id, agg] of updateAggregates(incremental, batch)) incremental.set(id, agg);
    }

    const opts = { bins: 6, grid: DEFAULT_SEGMENT_GRID };
    const expected = scoreAggregates(full.values(), asOf, opts);
    const actual = scoreAggregates(incremental.values(), asOf, opts);
    const strip = (rows: typeof expected.rows) => rows.map(({ monetary, ...rest }) => rest);
    expect(strip(actual.rows)).toEqual(strip(expected.rows));
    actual.rows.forEach((row, i) => {
      expect(row.monetary).toBeCloseTo(expected.rows[i]!.monetary, 6);
    });
  });
});

/** A seeded Fisher-Yates shuffle, so the batch order is arbitrary but the test repeatable. */
function shuffle(orders: DatedOrder[], seed: number): DatedOrder[] {
  const copy = [...orders];
  let state = seed;
  for (let i = copy.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    const j = state % (i + 1);
    [copy[i], copy[j]] = [copy[j] as DatedOrder, copy[i] as DatedOrder];
  }
  return copy;
}
