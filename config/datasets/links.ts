import { z } from 'zod';

import { Condition } from './recipes';

/**
 * The columns of an events dataset (orders, ticket events): each staged record is one event.
 * `customer` links it to profiles; `date` places it in time (ISO day or UTC date-time; use a
 * `datetime` recipe for zoned values); `amount` and `orderId` feed RFM and sums.
 */
export const EventColumns = z
  .object({
    customer: z.string().min(1),
    date: z.string().min(1),
    amount: z.string().min(1).optional(),
    orderId: z.string().min(1).optional(),
  })
  .strict();
export type EventColumns = z.infer<typeof EventColumns>;

/**
 * A one-way link from a profiles dataset to an events dataset: the golden field `field` equals
 * the events' customer column. Only the profiles side sees the link.
 */
export const LinkConfig = z
  .object({
    dataset: z.string().min(1),
    /** Golden-record field holding the customer key. */
    field: z.string().min(1),
    /** Must be the events dataset's `events.customer` column (the default). */
    column: z.string().min(1).optional(),
  })
  .strict();
export type LinkConfig = z.infer<typeof LinkConfig>;

export const AggregateOp = z.enum([
  'count',
  'sum',
  'avg',
  'min',
  'max',
  'first',
  'last',
  'distinct',
]);
export type AggregateOp = z.infer<typeof AggregateOp>;

/** A field aggregated per golden record over its linked events, up to the run's as-of day. */
export const ComputedField = z
  .object({
    link: z.string().min(1),
    op: AggregateOp,
    /** The events column aggregated; not needed by `count`. */
    column: z.string().min(1).optional(),
    /** first/last: the date column that orders events (default: the events' date column). */
    by: z.string().min(1).optional(),
    /** Only events within this many days up to the as-of day (the day itself included). */
    window: z.object({ days: z.number().int().positive() }).strict().optional(),
    /** Only events whose column equals / is in the given values. */
    where: Condition.optional(),
  })
  .strict()
  .refine(
    (c) => c.op === 'count' || c.column !== undefined,
    'needs a column (only count does not)',
  );
export type ComputedField = z.infer<typeof ComputedField>;
