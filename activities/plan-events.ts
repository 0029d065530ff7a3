import { log } from '@temporalio/activity';

import { resolveSync } from '../config/load';
import type { BrazeAttribute, FieldType } from '../config/schema';
import { exportKey, isCurrencyCode, type EventExport } from '../config/sync-events';
import {
  MAX_EVENTS_PER_REQUEST,
  MAX_PURCHASE_QUANTITY,
  MAX_PURCHASES_PER_REQUEST,
} from '../connectors/braze/limits';
import { toDestinationAttributes } from '../domain/attribute-values';
import { chunk } from '../domain/diff';
import { isBlank } from '../domain/normalize';
import { parseIsoDay } from '../domain/rfm/days';
import {
  appendEventBatches,
  pageUndeliveredEvents,
  plannedEventBatches,
  rebuildEventTargets,
  rejectAtPlanning,
  type CandidateEvent,
  type EventItem,
  type RejectedEvent,
} from '../store/event-delivery';
import { clock, type ActivityDeps } from './deps';

export interface PlanEventsInput {
  runId: string;
  syncId: string;
}

export interface PlanEventsResult {
  eventsPlanned: number;
  eventsRejected: number;
  batches: number;
}

/** Events read per page: 40 requests' worth, well inside memory whatever the table's size. */
const PAGE_EVENTS = 3000;

/** The events dataset's declared types, as the attribute types properties are converted to. */
const PROPERTY_TYPES: Partial<Record<FieldType, BrazeAttribute['type']>> = {
  number: 'number',
  boolean: 'boolean',
  date: 'date',
};

/**
 * Plans the sync's event exports as outbox batches of kind `events` (one export, so one Braze
 * array, per batch; at most 75 objects), appended after the batches already planned. Called
 * after the attribute batches, which create the profiles of new golden records, and before
 * the merge and delete batches. An event is planned when it is usable, dated on or after the
 * export's `since`, its customer key belongs to an active golden record with the sync's
 * identifier, and the per-sync ledger does not hold it (or holds it as rejected with content
 * that has changed since). The join runs in SQL, page by page on the events' primary key, so
 * millions of events never sit in memory. Events that cannot be sent as configured (no price,
 * an unknown currency) are recorded as rejected. Planning twice for a run keeps the first plan;
 * a plan cut short by a crash keeps the pages written, and the rest waits for the next run.
 */
export async function planEvents(
  deps: ActivityDeps,
  input: PlanEventsInput,
): Promise<PlanEventsResult> {
  const { sync, dataset, destination } = resolveSync(deps.config, input.syncId);
  const result: PlanEventsResult = { eventsPlanned: 0, eventsRejected: 0, batches: 0 };
  if (sync.events.length === 0) return result;
  const already = await plannedEventBatches(deps.db, input.runId);
  if (already.batches > 0) return { ...result, batches: already.batches, eventsPlanned: already.items };

  let targetsFor: string | undefined;
  for (const exp of sync.events) {
    const link = dataset.links[exp.link]!;
    // Exports of the same link share the targets; another link field needs them rebuilt.
    if (targetsFor !== link.field) {
      await rebuildEventTargets(deps.db, {
        syncId: input.syncId,
        dataset: sync.dataset,
        linkField: link.field,
        identifier: sync.identifier,
      });
      targetsFor = link.field;
    }
    const limit = exp.as === 'event' ? MAX_EVENTS_PER_REQUEST : MAX_PURCHASES_PER_REQUEST;
    const size = Math.min(limit, destination.batchSize);
    const build = itemBuilder(deps, exp, link.dataset);
    let after = 0;
    for (;;) {
      const page = await pageUndeliveredEvents(deps.db, {
        syncId: input.syncId,
        exportKey: exportKey(exp),
        dataset: link.dataset,
        sinceDay: exp.since === undefined ? null : parseIsoDay(exp.since)!,
        afterRecordId: after,
        limit: PAGE_EVENTS,
      });
      if (page.length === 0) break;
      const items: EventItem[] = [];
      const rejected: RejectedEvent[] = [];
      for (const candidate of page) {
        const built = build(candidate);
        if ('reason' in built) rejected.push(built);
        else items.push(built);
      }
      result.batches += await appendEventBatches(deps.db, {
        runId: input.runId,
        syncId: input.syncId,
        batches: chunk(items, size),
      });
      await rejectAtPlanning(deps.db, { ...input, rejected, nowMs: clock(deps) });
      result.eventsPlanned += items.length;
      result.eventsRejected += rejected.length;
      after = page[page.length - 1]!.recordId;
    }
  }
  log.info('Events planned', {
    syncId: input.syncId,
    recordCount: result.eventsPlanned,
    rejectedCount: result.eventsRejected,
    batchCount: result.batches,
  });
  return result;
}

/** Builds the outbox item of one candidate for one export, or says why it cannot be sent. */
function itemBuilder(
  deps: ActivityDeps,
  exp: EventExport,
  eventsDataset: string,
): (c: CandidateEvent) => EventItem | RejectedEvent {
  const events = deps.config.datasets[eventsDataset]!;
  const declared: BrazeAttribute[] = Object.entries(exp.properties).map(([name, column]) => {
    const type = events.fields[column];
    return { name, type: (type && PROPERTY_TYPES[type]) || 'string', requiredForSync: false };
  });
  const key = exportKey(exp);
  return (c) => {
    const item: EventItem = {
      exportKey: key,
      kind: exp.as,
      dataset: eventsDataset,
      recordId: c.recordId,
      recordKey: c.orderId ?? String(c.recordId),
      contentHash: c.contentHash,
      masterId: c.masterId,
      externalId: c.externalId,
    };
    const reject = (reason: string): RejectedEvent => ({ item, reason });
    const time = eventTime(c.at);
    if (time === undefined) return reject('the event date is not an ISO date or date-time');
    const properties = eventProperties(c.payload, exp.properties, declared);
    if (typeof properties === 'string') return reject(properties);
    if (exp.as === 'event') return { ...item, event: { name: exp.name!, time, properties } };

    const productId = pick(c.payload, exp.productId!);
    if (productId === undefined || productId.length > 255) {
      return reject('no product id (or longer than 255 characters)');
    }
    const currency = (exp.currency === undefined ? 'USD' : pick(c.payload, exp.currency))?.toUpperCase();
    if (currency === undefined || !isCurrencyCode(currency)) return reject('no ISO 4217 currency');
    const price = exp.price === undefined ? c.amount : toNumber(c.payload[exp.price]);
    if (price === null || price === undefined) return reject('no price (a number)');
    let quantity: number | undefined;
    if (exp.quantity !== undefined) {
      quantity = toNumber(c.payload[exp.quantity]) ?? undefined;
      if (quantity === undefined || !Number.isInteger(quantity) || quantity < 1) {
        return reject('quantity is not a whole number of at least 1');
      }
      // Braze refuses more than 100; one purchase of 100 keeps the order rather than losing it.
      quantity = Math.min(quantity, MAX_PURCHASE_QUANTITY);
    }
    const purchase = { productId, currency, price, time, properties, ...(quantity ? { quantity } : {}) };
    return { ...item, purchase };
  };
}

/**
 * Braze's `time`: the event date as ISO 8601 UTC with milliseconds. A day is its midnight UTC
 * and a date-time without a zone is UTC, as prepared events read them.
 */
export function eventTime(at: string): string | undefined {
  const text = at.trim().replace(' ', 'T');
  if (parseIsoDay(text) !== undefined) return `${text}T00:00:00.000Z`;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(text)) return undefined;
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(text) ? text : `${text}Z`;
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** Properties typed like attributes (numbers stay numbers); blanks are left out. */
function eventProperties(
  payload: Record<string, string>,
  mapping: Record<string, string>,
  declared: BrazeAttribute[],
): Record<string, unknown> | string {
  if (Object.keys(mapping).length === 0) return {};
  const typed = toDestinationAttributes(payload, mapping, declared);
  if (!typed.ok) return `property ${typed.reason}`;
  return Object.fromEntries(Object.entries(typed.attributes).filter(([, value]) => value !== null));
}

function pick(
  payload: Record<string, string>,
  from: { column: string } | { value: string },
): string | undefined {
  if ('value' in from) return from.value;
  const raw = payload[from.column];
  return raw === undefined || isBlank(raw) ? undefined : raw.trim();
}

function toNumber(raw: string | undefined): number | null {
  if (raw === undefined || isBlank(raw)) return null;
  const value = Number(raw.trim());
  return Number.isFinite(value) ? value : null;
}
