import { BadInputError } from '../../connectors/errors';
import { toUtcDay } from './days';

/** One order line as RFM reads it. */
export interface Order {
  /**
   * Groups several lines into one order of the same customer. Without it every line counts as
   * an order: CDNOW has several lines per customer and day and no order id, so each line is one
   * order there (69,659 orders for 23,570 customers).
   */
  orderId?: string;
  customerId: string;
  /** A `YYYY-MM-DD` UTC day, an ISO 8601 date-time (UTC when it has no zone) or a Date. */
  date: string | Date;
  /**
   * Money spent on the line; any currency, as long as one file uses one. A negative amount is
   * a refund: it lowers the customer's monetary value but is not an order (no frequency) and
   * not activity (no recency).
   */
  amount: number;
}

/** An order line with its date resolved to a UTC day number (see days.ts). */
export interface DatedOrder {
  orderId?: string;
  customerId: string;
  day: number;
  amount: number;
}

/**
 * What RFM keeps per customer. Scores are recomputed from these alone, so a new batch of orders
 * only needs the aggregates of the customers it touches.
 */
export interface CustomerAggregate {
  readonly customerId: string;
  /** Days of the first and last purchase; Infinity and -Infinity while there is none. */
  readonly firstOrderDay: number;
  readonly lastOrderDay: number;
  /** Distinct order ids plus lines without an id, refunds left out; 0: refunds only. */
  readonly frequency: number;
  /** Sum of amounts, unrounded; rounded to cents only for output. */
  readonly monetary: number;
  /** Order ids already counted, so an order whose lines arrive in two batches counts once. */
  readonly orderIds: readonly string[];
}

/** Options shared by the aggregation functions. */
export interface AggregateOptions {
  /** Lines dated after this day are ignored: an as-of date never sees later orders. */
  asOfDay?: number;
  /** Lines dated on or before this day are ignored (the start of a time frame, exclusive). */
  afterDay?: number;
}

/**
 * Resolves each order's date to a UTC day and returns the lines sorted by day (stable, so lines
 * of one day keep their input order). Throws {@link BadInputError} naming the customer and
 * order of a date that cannot be read, or an amount that is not a finite number.
 */
export function dateOrders(orders: Iterable<Order>): DatedOrder[] {
  const dated: DatedOrder[] = [];
  let index = 0;
  for (const order of orders) {
    dated.push(dateOrder(order, index++));
  }
  return dated.sort((a, b) => a.day - b.day);
}

function dateOrder(order: Order, index: number): DatedOrder {
  const day = toUtcDay(order.date);
  const which = `order ${order.orderId ?? `#${index + 1}`} of customer ${order.customerId}`;
  if (day === undefined) throw new BadInputError(`${which}: date is not a day or an instant`);
  if (!Number.isFinite(order.amount)) throw new BadInputError(`${which}: amount is not a number`);
  const dated: DatedOrder = { customerId: order.customerId, day, amount: order.amount };
  if (order.orderId !== undefined && order.orderId !== '') dated.orderId = order.orderId;
  return dated;
}

/** Aggregates order lines per customer from scratch; see {@link updateAggregates}. */
export function aggregateOrders(
  orders: Iterable<DatedOrder>,
  opts: AggregateOptions = {},
): Map<string, CustomerAggregate> {
  return updateAggregates(new Map(), orders, opts);
}

/**
 * Folds new order lines into previous per-customer aggregates and returns new aggregates for
 * the customers the lines touch, and only those; `previous` is not modified. Merge the result
 * into the full map, then score the whole base with scoreAggregates: scores are relative to the
 * other customers, so they change for untouched customers too, but their aggregates do not.
 *
 * Lines may come in any order and in any number of batches: the result is the same as
 * aggregating all lines at once (up to float rounding of the amount sum, which scoring absorbs).
 * An order id seen before adds its amount but does not count as a new order. Lines outside
 * `asOfDay`/`afterDay` are skipped and touch nobody.
 */
export function updateAggregates(
  previous: ReadonlyMap<string, CustomerAggregate>,
  orders: Iterable<DatedOrder>,
  opts: AggregateOptions = {},
): Map<string, CustomerAggregate> {
  const touched = new Map<string, MutableAggregate>();
  for (const order of orders) {
    if (opts.asOfDay !== undefined && order.day > opts.asOfDay) continue;
    if (opts.afterDay !== undefined && order.day <= opts.afterDay) continue;
    let agg = touched.get(order.customerId);
    if (agg === undefined) {
      agg = startFrom(previous.get(order.customerId), order);
      touched.set(order.customerId, agg);
    }
    addLine(agg, order);
  }
  const result = new Map<string, CustomerAggregate>();
  for (const [id, agg] of touched) result.set(id, freeze(agg));
  return result;
}

interface MutableAggregate {
  customerId: string;
  firstOrderDay: number;
  lastOrderDay: number;
  linesWithoutId: number;
  monetary: number;
  // Created on the first order id only: most files have none, and a Set per customer is costly.
  orderIds: Set<string> | undefined;
}

const NO_IDS: readonly string[] = Object.freeze([]);

function startFrom(prev: CustomerAggregate | undefined, order: DatedOrder): MutableAggregate {
  if (prev === undefined) {
    return {
      customerId: order.customerId,
      firstOrderDay: Infinity,
      lastOrderDay: -Infinity,
      linesWithoutId: 0,
      monetary: 0,
      orderIds: undefined,
    };
  }
  return {
    customerId: prev.customerId,
    firstOrderDay: prev.firstOrderDay,
    lastOrderDay: prev.lastOrderDay,
    linesWithoutId: prev.frequency - prev.orderIds.length,
    monetary: prev.monetary,
    orderIds: prev.orderIds.length === 0 ? undefined : new Set(prev.orderIds),
  };
}

function addLine(agg: MutableAggregate, order: DatedOrder): void {
  agg.monetary += order.amount;
  if (order.amount < 0) return;
  agg.firstOrderDay = Math.min(agg.firstOrderDay, order.day);
  agg.lastOrderDay = Math.max(agg.lastOrderDay, order.day);
  if (order.orderId === undefined) agg.linesWithoutId++;
  else (agg.orderIds ??= new Set()).add(order.orderId);
}

function freeze(agg: MutableAggregate): CustomerAggregate {
  return {
    customerId: agg.customerId,
    firstOrderDay: agg.firstOrderDay,
    lastOrderDay: agg.lastOrderDay,
    frequency: agg.linesWithoutId + (agg.orderIds?.size ?? 0),
    monetary: agg.monetary,
    orderIds: agg.orderIds === undefined ? NO_IDS : [...agg.orderIds],
  };
}
