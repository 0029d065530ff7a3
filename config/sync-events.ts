import { createHash } from 'node:crypto';

import { z } from 'zod';

/** A value taken from an events column, or one fixed value for every event. */
const ColumnOrValue = z.union([
  z.object({ column: z.string().min(1) }).strict(),
  z.object({ value: z.string().min(1).max(255) }).strict(),
]);
export type ColumnOrValue = z.infer<typeof ColumnOrValue>;

/**
 * A currency from a column or fixed. A fixed code is upper-cased as row values are, so `eur`
 * reads as `EUR` in both places instead of passing per event and failing `braid check`.
 */
const Currency = z.union([
  z.object({ column: z.string().min(1) }).strict(),
  z
    .object({ value: z.string().min(1).max(255) })
    .strict()
    .transform(({ value }) => ({ value: value.trim().toUpperCase() })),
]);

/** Braze refuses property names starting with `$` and the reserved `time` and `event_name`. */
const RESERVED_PROPERTIES = new Set(['time', 'event_name']);

/**
 * ISO 4217 alphabetic codes as the runtime knows them; Braze wants one on every purchase.
 * `Intl.supportedValuesOf` lists every active code on Node 20.
 */
const CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

/**
 * One export of a linked events dataset to Braze, as purchases (`/users/track` purchases) or
 * as custom events named `name`. Each usable event whose customer maps to a golden record of
 * the sync is sent once (see activities/plan-events.ts); `since` leaves older events out.
 */
export const EventExport = z
  .object({
    /** A link of the sync's dataset (`datasets.<dataset>.links.<link>`) to an events dataset. */
    link: z.string().min(1),
    as: z.enum(['purchase', 'event']),
    /** The custom event's name (events only). */
    name: z.string().min(1).max(255).optional(),
    /** The purchase's product id (purchases only, required). */
    productId: ColumnOrValue.optional(),
    /** ISO 4217 alphabetic code, from a column or fixed; purchases only, `USD` by default. */
    currency: Currency.optional(),
    /** Column holding the price in the currency's base unit; default the events' amount. */
    price: z.string().min(1).optional(),
    /** Column holding the quantity; Braze takes 1..100, larger values are clamped to 100. */
    quantity: z.string().min(1).optional(),
    /** Braze property name → events column; typed as the events dataset's `fields` say. */
    properties: z.record(z.string(), z.string().min(1)).default({}),
    /** Only events dated on or after this day (YYYY-MM-DD). */
    since: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'use YYYY-MM-DD')
      .refine((day) => !Number.isNaN(Date.parse(`${day}T00:00:00Z`)), 'is not a date')
      .optional(),
  })
  .strict()
  .superRefine((exp, ctx) => {
    const issue = (path: string[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    if (exp.as === 'event') {
      if (exp.name === undefined) issue(['name'], 'a custom event export needs a name');
      for (const key of ['productId', 'currency', 'price', 'quantity'] as const) {
        if (exp[key] !== undefined) issue([key], 'only a purchase export (as: purchase) takes it');
      }
    } else {
      if (exp.productId === undefined) issue(['productId'], 'a purchase export needs productId');
      if (exp.name !== undefined)
        issue(['name'], 'only a custom event export (as: event) has a name');
    }
    const currency = exp.currency && 'value' in exp.currency ? exp.currency.value : undefined;
    if (currency !== undefined && !CURRENCIES.has(currency)) {
      issue(['currency', 'value'], `"${currency}" is not an ISO 4217 currency code such as USD`);
    }
    for (const name of Object.keys(exp.properties)) {
      if (name.startsWith('$') || RESERVED_PROPERTIES.has(name) || name.length > 255) {
        issue(['properties', name], 'Braze refuses this property name ($…, time, event_name)');
      }
    }
  });
export type EventExport = z.infer<typeof EventExport>;

/** `syncs.<id>.events`: the sync's event exports, sent after its attribute updates. */
export const SyncEvents = z.array(EventExport).default([]);

/** True when `code` is an ISO 4217 alphabetic code the runtime knows (checked per event). */
export function isCurrencyCode(code: string): boolean {
  return CURRENCIES.has(code);
}

/**
 * The ledger's name for an export: stable when exports are reordered, distinct for two
 * exports of one link (another event name, another product).
 */
export function exportKey(exp: EventExport): string {
  if (exp.as === 'event') return `event:${exp.link}:${exp.name ?? ''}`;
  const product = exp.productId;
  const which =
    product === undefined ? '' : 'value' in product ? product.value : `$${product.column}`;
  return `purchase:${exp.link}:${which}`;
}

/** What of the events dataset shapes an export's objects: property types, the default price. */
export interface EventsShape {
  fields: Record<string, string>;
  events?: { amount?: string };
}

/**
 * A hash of everything that decides what an export sends and whether an event can be sent:
 * name, product, currency, price (the events' amount column when not set), quantity, and the
 * properties with the types the events dataset declares for their columns. `since` only
 * filters and the link is part of the export key, so neither is in it. Planning compares it
 * with the last plan's to judge rejected events again after a fix (store/event-delivery.ts).
 */
export function exportSettingsHash(exp: EventExport, events: EventsShape): string {
  const properties = Object.keys(exp.properties)
    .sort()
    .map((name) => {
      const column = exp.properties[name]!;
      return [name, column, events.fields[column] ?? 'string'];
    });
  const settings = {
    as: exp.as,
    name: exp.name ?? null,
    productId: exp.productId ?? null,
    currency: exp.currency ?? null,
    price: exp.price ?? events.events?.amount ?? null,
    quantity: exp.quantity ?? null,
    properties,
  };
  return createHash('sha256').update(JSON.stringify(settings)).digest('hex');
}

interface LinkedDatasets {
  datasets: Record<
    string,
    { kind: string; links: Record<string, { dataset: string }>; events?: { amount?: string } }
  >;
  syncs: Record<string, { dataset: string; events: EventExport[] }>;
}

/**
 * Cross checks of every sync's event exports, run from BraidConfig's superRefine so problems
 * carry their path: the link is declared on the sync's dataset and points at an events
 * dataset, and no two exports of a sync share a ledger key (they would share delivery state).
 */
export function checkSyncEvents(config: LinkedDatasets, ctx: z.RefinementCtx): void {
  for (const [syncId, sync] of Object.entries(config.syncs)) {
    const dataset = config.datasets[sync.dataset];
    const keys = new Map<string, number>();
    sync.events.forEach((exp, i) => {
      const path = ['syncs', syncId, 'events', i];
      const issue = (more: string[], message: string) =>
        ctx.addIssue({ code: 'custom', path: [...path, ...more], message });
      const link = dataset?.links[exp.link];
      if (dataset && !link) {
        issue(['link'], `no link "${exp.link}" on dataset "${sync.dataset}"`);
      } else if (link && config.datasets[link.dataset]?.kind !== 'events') {
        issue(['link'], `link "${exp.link}" does not point at an events dataset`);
      } else if (link && exp.as === 'purchase' && exp.price === undefined) {
        // Without either, every purchase would be rejected one by one at planning.
        if (config.datasets[link.dataset]?.events?.amount === undefined) {
          issue(['price'], `dataset "${link.dataset}" declares no amount column: set price`);
        }
      }
      const key = exportKey(exp);
      const first = keys.get(key);
      if (first !== undefined) issue([], `sends the same ${exp.as} as events.${first}`);
      else keys.set(key, i);
    });
  }
}
