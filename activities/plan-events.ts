import { log } from '@temporalio/activity';

import { resolveSync } from '../config/load';
import type { BrazeAttribute, FieldType } from '../config/schema';
import {
  exportKey,
  exportSettingsHash,
  isCurrencyCode,
  type EventExport,
} from '../config/sync-events';
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
  countUnmatchedEvents,
  pageUndeliveredEvents,
  plannedEventBatches,
  rebuildEventTargets,
  rejectAtPlanning,
  reviseExportSettings,
  type CandidateEvent,
  type EventItem,
  type RejectedEvent,
} from '../store/event-delivery';
import { getRun, setCounts } from '../store/runs';
import { clock, type ActivityDeps } from './deps';

export interface PlanEventsInput {
  runId: string;
  syncId: string;
}

export interface PlanEventsResult {
  eventsPlanned: number;
  eventsRejected: number;
  /** Custom events in range whose customer key no active golden record holds (yet). */
  eventsUnmatched: number;
  /** The same for purchases. Neither is a row error: they are planned once the customer is. */
  purchasesUnmatched: number;
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
 * an unknown currency) are recorded as rejected; once the export's settings change, its
 * rejected events are judged again. Events in range whose customer has no golden record with
 * the identifier are counted per kind (run counters `eventsUnmatched`, `purchasesUnmatched`).
 * Planning twice for a run keeps the first plan; a plan cut short by a crash keeps the pages
 * written, and the rest waits for the next run.
 */
export async function planEvents(
  deps: ActivityDeps,
  input: PlanEventsInput,
): Promise<PlanEventsResult> {
  const { sync, dataset, destination } = resolveSync(deps.config, input.syncId);
  const result: PlanEventsResult = {
    eventsPlanned: 0,
    eventsRejected: 0,
    eventsUnmatched: 0,
    purchasesUnmatched: 0,
    batches: 0,
  };
  if (sync.events.length === 0) return result;
  const already = await plannedEventBatches(deps.db, input.runId);
  if (already.batches > 0) {
    const counts = (await getRun(deps.db, input.runId))?.counts;
    return {
      ...result,
      batches: already.batches,
      eventsPlanned: already.items,
      eventsUnmatched: counts?.eventsUnmatched ?? 0,
      purchasesUnmatched: counts?.purchasesUnmatched ?? 0,
    };
  }

  let targetsFor: string | undefined;
  for (const exp of sync.events) {
    const link = dataset.links[exp.link]!;
    const key = exportKey(exp);
    const dropped = await reviseExportSettings(deps.db, {
      syncId: input.syncId,
      exportKey: key,
      settingsHash: exportSettingsHash(exp, deps.config.datasets[link.dataset]!),
      nowMs: clock(deps),
    });
    if (dropped > 0) {
      log.info('Event export changed: its rejected events are planned again', {
        syncId: input.syncId,
        exportKey: key,
        recordCount: dropped,
      });
    }
    // Exports of the same link share the targets; another link needs them rebuilt.
    if (targetsFor !== exp.link) {
      await rebuildEventTargets(deps.db, {
        syncId: input.syncId,
        dataset: sync.dataset,
        link: exp.link,
        linkField: link.field,
        identifier: sync.identifier,
      });
      targetsFor = exp.link;
    }
    const limit = exp.as === 'event' ? MAX_EVENTS_PER_REQUEST : MAX_PURCHASES_PER_REQUEST;
    const size = Math.min(limit, destination.batchSize);
    const build = itemBuilder(deps, exp, link.dataset);
    const range = {
      syncId: input.syncId,
      exportKey: key,
      dataset: link.dataset,
      sinceDay: exp.since === undefined ? null : parseIsoDay(exp.since)!,
    };
    result[exp.as === 'event' ? 'eventsUnmatched' : 'purchasesUnmatched'] +=
      await countUnmatchedEvents(deps.db, range);
    // Before this export's pages: a retried plan keeps the first and reads the figures back.
    await setCounts(deps.db, input.runId, {
      eventsUnmatched: result.eventsUnmatched,
      purchasesUnmatched: result.purchasesUnmatched,
    });
    let after = 0;
    for (;;) {
      const page = await pageUndeliveredEvents(deps.db, {
        ...range,
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
    eventsUnmatched: result.eventsUnmatched,
    purchasesUnmatched: result.purchasesUnmatched,
    batchCount: result.batches,
  });
  return result;
}

/**
 * Builds the outbox item of one candidate for one export, or says why it cannot be sent. A
 * reason names the column it read and never quotes the value: a column absent from the row
 * or blank is "column qtty is missing or blank", which points at a misspelt column rather
 * than at the data.
 */
function itemBuilder(
  deps: ActivityDeps,
  exp: EventExport,
  eventsDataset: string,
): (c: CandidateEvent) => EventItem | RejectedEvent {
  const events = deps.config.datasets[eventsDataset]!;
  const properties = Object.entries(exp.properties).map(([name, column]) => {
    const type = events.fields[column];
    const declared: BrazeAttribute = {
      name,
      type: (type && PROPERTY_TYPES[type]) || 'string',
      requiredForSync: false,
    };
    return { name, column, declared };
  });
  // The price defaults to the events' amount column (config/datasets/links.ts).
  const priceColumn = exp.price ?? events.events?.amount;
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
    const typed = eventProperties(c.payload, properties);
    if (typeof typed === 'string') return reject(typed);
    if (exp.as === 'event') return { ...item, event: { name: exp.name!, time, properties: typed } };

    const productId = pick(c.payload, exp.productId!);
    if (!productId.ok) return reject(productId.reason);
    if (productId.value.length > 255) {
      return reject(`the product id (${source(exp.productId!)}) is longer than 255 characters`);
    }
    const currency = exp.currency === undefined ? ok('USD') : pick(c.payload, exp.currency);
    if (!currency.ok) return reject(currency.reason);
    if (!isCurrencyCode(currency.value.toUpperCase())) {
      return reject(`${source(exp.currency!)} is not an ISO 4217 currency code`);
    }
    if (priceColumn === undefined)
      return reject("no price: set price, or the events' amount column");
    const rawPrice = column(c.payload, priceColumn);
    if (!rawPrice.ok) return reject(rawPrice.reason);
    const price = parseDecimal(rawPrice.value);
    if (price === undefined) return reject(`column ${priceColumn} is not a decimal number (price)`);
    let quantity: number | undefined;
    if (exp.quantity !== undefined) {
      const raw = column(c.payload, exp.quantity);
      if (!raw.ok) return reject(raw.reason);
      quantity = parseDecimal(raw.value);
      if (quantity === undefined || !Number.isInteger(quantity) || quantity < 1) {
        return reject(`column ${exp.quantity} is not a whole number of at least 1 (quantity)`);
      }
      // Braze refuses more than 100; one purchase of 100 keeps the order rather than losing it.
      quantity = Math.min(quantity, MAX_PURCHASE_QUANTITY);
    }
    const purchase = {
      productId: productId.value,
      currency: currency.value.toUpperCase(),
      price,
      time,
      properties: typed,
      ...(quantity ? { quantity } : {}),
    };
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

/**
 * Properties typed like attributes (numbers stay numbers). A blank or absent column is left
 * out: properties are optional, and a JSON source leaves out the keys a row does not have.
 */
function eventProperties(
  payload: Record<string, string>,
  properties: Array<{ name: string; column: string; declared: BrazeAttribute }>,
): Record<string, unknown> | string {
  const typed: Record<string, unknown> = {};
  for (const { name, column, declared } of properties) {
    const one = toDestinationAttributes(payload, { [name]: column }, [declared]);
    if (!one.ok) return `column ${column} is not a ${declared.type} (property ${name})`;
    const value = one.attributes[name];
    if (value !== null && value !== undefined) typed[name] = value;
  }
  return typed;
}

type Read = { ok: true; value: string } | { ok: false; reason: string };

function ok(value: string): Read {
  return { ok: true, value };
}

/** A column's value, trimmed; absent or blank is an error naming the column. */
function column(payload: Record<string, string>, name: string): Read {
  const raw = payload[name];
  if (raw === undefined || isBlank(raw))
    return { ok: false, reason: `column ${name} is missing or blank` };
  return ok(raw.trim());
}

function pick(payload: Record<string, string>, from: { column: string } | { value: string }): Read {
  return 'value' in from ? ok(from.value) : column(payload, from.column);
}

/** Where a setting's value comes from, for a reason: `column sku` or `value EUR`. */
function source(from: { column: string } | { value: string }): string {
  return 'value' in from ? `value ${from.value}` : `column ${from.column}`;
}

/**
 * A plain decimal (`12`, `-3.50`), the form prepare reads amounts in without help
 * (store/prepared.ts insertEventsInSql): `1e3`, `0x10`, `Infinity` or `1,5` are not prices.
 * A negative price is kept: some shops send refunds as purchases.
 */
export function parseDecimal(text: string): number | undefined {
  if (!/^-?\d+(\.\d+)?$/.test(text.trim())) return undefined;
  const value = Number(text.trim());
  return Number.isFinite(value) ? value : undefined;
}
