import type { EventColumns } from '../../config/datasets/links';
import { isBlank, parseDecimal } from '../normalize';
import { toUtcDay } from '../rfm/days';

/** One event as the events table keeps it. */
export interface PreparedEvent {
  customerKey: string;
  /** UTC day number of the date. */
  day: number;
  /** The date as written (after recipes): an ISO day or a date-time. */
  at: string;
  amount: number | null;
  orderId: string | null;
}

export type EventOutcome =
  { ok: true; event: PreparedEvent } | { ok: false; field: string; reason: string };

/**
 * Reads the declared columns of one staged event (after its recipes). An event without a
 * customer or with a date that is not an ISO day or date-time is unusable; reasons never quote
 * the value. A date-time without a zone is UTC; convert zoned values with a `datetime` recipe.
 */
export function toEvent(values: Record<string, string>, columns: EventColumns): EventOutcome {
  const customer = values[columns.customer];
  if (customer === undefined || isBlank(customer)) {
    return { ok: false, field: columns.customer, reason: 'missing customer key' };
  }
  const at = (values[columns.date] ?? '').trim();
  const day = at === '' ? undefined : toUtcDay(at);
  if (day === undefined)
    return { ok: false, field: columns.date, reason: 'not an ISO date or date-time' };

  let amount: number | null = null;
  if (columns.amount !== undefined && !isBlank(values[columns.amount])) {
    const parsed = parseDecimal(values[columns.amount]!);
    if (parsed === undefined)
      return { ok: false, field: columns.amount, reason: 'amount is not a number' };
    amount = parsed;
  }
  const rawOrder = columns.orderId === undefined ? undefined : values[columns.orderId];
  const orderId = rawOrder === undefined || isBlank(rawOrder) ? null : rawOrder.trim();
  return { ok: true, event: { customerKey: customer.trim(), day, at, amount, orderId } };
}
