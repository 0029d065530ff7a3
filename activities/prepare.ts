import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Context, log } from '@temporalio/activity';
import type { Knex } from 'knex';

import type { ComputedField, LinkConfig } from '../config/datasets/links';
import type { DatasetConfig } from '../config/schema';
import { ConfigError } from '../connectors/errors';
import { cutoffOffsets, movedRanges } from '../domain/computed/cutoffs';
import { toEvent } from '../domain/computed/events';
import { formatValue } from '../domain/computed/format';
import { RFM_FIELDS, rfmFields, type RfmAggregate } from '../domain/computed/rfm-fields';
import { rfmGrid } from '../domain/computed/segments-config';
import {
  compileGoldenRecipes,
  compileSourceRecipes,
  recipesAt,
  sourceRecipesOf,
} from '../domain/recipes/compile';
import { parseIsoDay } from '../domain/rfm/days';
import { isBlank } from '../domain/normalize';
import { isPostgres } from '../store/db';
import {
  changeSeqMark,
  loadGoldenRecords,
  pageLiveRecordIds,
  type ChangesSince,
} from '../store/identity';
import * as links from '../store/link-keys';
import * as store from '../store/prepared';
import { getRun, setCounts } from '../store/runs';
import { clock, type ActivityDeps } from './deps';
import { withFailures } from './failure';
import {
  assignLinkKeys,
  collectMemberKeys,
  linkedUnit,
  listedKeys,
  sameKeys,
  type LinkOwnership,
  type PreparedGolden,
} from './prepare-links';

/** Records read, recipes applied and written per step. */
const BATCH_RECORDS = 5000;
/** Unusable events listed in row_errors per run; the count covers them all. */
const REPORTED_UNUSABLE = 200;
const MS_PER_DAY = 86_400_000;
/**
 * How far before the previous materialization an incremental one looks for staged events, the
 * one time it has no change sequence to start from (state written before migration 011).
 */
const STAGING_MARGIN_MS = 15 * 60_000;
/** SQLite page cache while preparing, in KiB (a negative cache_size is a size, not pages). */
const SQLITE_CACHE_KIB = -131_072;
/** Aggregates that are 0, not unset, for a customer without a linked event. */
const ZERO_WHEN_NONE = new Set(['count', 'distinct']);

export interface PrepareDatasetInput {
  runId: string;
  dataset: string;
}

export interface PrepareDatasetResult {
  asOfDay: number;
  eventsChanged: number;
  eventsUnusable: number;
  /** Customers whose aggregates were recomputed; -1 when all were. */
  customersRecomputed: number;
  recordsPrepared: number;
  recordsChanged: number;
  recordsLeftOut: number;
}

/**
 * Prepares a profiles dataset after unify: brings its linked events datasets' tables up to date,
 * recomputes the aggregates of the customers whose events changed or crossed a window boundary
 * since the last as-of day, rescores RFM over the whole base from the stored aggregates, and
 * writes each golden record's prepared attributes (golden-level recipes, computed fields and
 * scores) where their hash changed. A change of those settings rebuilds everything. One
 * transaction: a retried attempt finds the work done or not started. Only counts leave it.
 */
export async function prepareDataset(
  deps: ActivityDeps,
  input: PrepareDatasetInput,
): Promise<PrepareDatasetResult> {
  return withFailures(async () => {
    const result = await prepareDatasetNow(deps, input);
    await store.guarded('setCounts', 'runs', () =>
      setCounts(deps.db, input.runId, {
        recordsPrepared: result.recordsPrepared,
        preparedChanged: result.recordsChanged,
        customersRecomputed: result.customersRecomputed,
        eventsUnusable: result.eventsUnusable,
      }),
    );
    log.info('Dataset prepared', { dataset: input.dataset, ...result });
    return result;
  });
}

/** The work of prepareDataset, callable outside an activity (tests, command-line tools). */
export async function prepareDatasetNow(
  deps: ActivityDeps,
  input: PrepareDatasetInput,
): Promise<PrepareDatasetResult> {
  {
    const dataset = deps.config.datasets[input.dataset];
    if (!dataset) throw new ConfigError(`Unknown dataset "${input.dataset}"`);
    const run = await store.guarded('getRun', 'runs', () => getRun(deps.db, input.runId));
    const startedAtMs = run?.startedAtMs ?? clock(deps);
    const asOfDay = dataset.asOf ? parseIsoDay(dataset.asOf) : Math.floor(startedAtMs / MS_PER_DAY);
    if (asOfDay === undefined)
      throw new ConfigError(`datasets.${input.dataset}.asOf: not a real date`);

    // Store steps name themselves; this catches the rest (BEGIN, COMMIT) without row values.
    const where = `dataset "${input.dataset}"`;
    return store.guarded('transaction', where, () =>
      deps.db.transaction(async (trx) => {
        // Twice the connection's page cache (store/db.ts) while preparing: the aggregates and
        // index builds over millions of events would read the same pages again and again.
        const cache = isPostgres(trx)
          ? undefined
          : (await trx.raw('PRAGMA cache_size'))[0]?.cache_size;
        if (cache !== undefined) await trx.raw(`PRAGMA cache_size = ${SQLITE_CACHE_KIB}`);
        try {
          return await prepareIn(deps, trx, input, dataset, asOfDay);
        } finally {
          if (cache !== undefined) await trx.raw(`PRAGMA cache_size = ${Number(cache)}`);
        }
      }),
    );
  }
}

async function prepareIn(
  deps: ActivityDeps,
  trx: Knex.Transaction,
  input: PrepareDatasetInput,
  dataset: DatasetConfig,
  asOfDay: number,
): Promise<PrepareDatasetResult> {
  const nowMs = clock(deps);
  const beat = (phase: string) => heartbeat({ phase });
  const result: PrepareDatasetResult = {
    asOfDay,
    eventsChanged: 0,
    eventsUnusable: 0,
    customersRecomputed: 0,
    recordsPrepared: 0,
    recordsChanged: 0,
    recordsLeftOut: 0,
  };

  const events = new Map<string, MaterializedEvents>();
  for (const link of Object.values(dataset.links)) {
    if (events.has(link.dataset)) continue;
    const target = deps.config.datasets[link.dataset]!;
    const done = await materializeEvents(trx, link.dataset, target, input.runId, nowMs);
    events.set(link.dataset, done);
    result.eventsChanged += done.changed;
    result.eventsUnusable += done.unusable;
  }
  beat('events');

  const rfm = dataset.scores?.rfm;
  const where = `datasets.${input.dataset}.scores.rfm`;
  const grid = rfm ? rfmGrid(rfm, where, (file) => readFileSync(file, 'utf8')) : undefined;
  const configHash = hashOf([
    recipesAt(dataset, 'golden'),
    dataset.links,
    dataset.computed,
    rfm ?? null,
    grid?.source ?? null,
    ...[...events.keys()].sort().map((name) => deps.config.datasets[name]!.events),
  ]);
  const previous = await store.getPreparedState(trx, input.dataset);
  const full = previous?.configHash !== configHash || previous.asOfDay === null;

  const goldens = await preparedGoldens(trx, input.dataset, dataset, result);
  const memberKeys = await collectMemberKeys(
    trx,
    input.dataset,
    dataset,
    new Set(goldens.map((g) => g.masterId)),
  );
  beat('goldens');

  const perLink = new Map<string, LinkValues>();
  for (const [linkName, link] of Object.entries(dataset.links)) {
    const fields = Object.entries(dataset.computed).filter(([, f]) => f.link === linkName);
    const linkRfm = rfm?.link === linkName ? rfm : undefined;
    const offsets = cutoffOffsets(
      fields.map(([, f]) => f),
      linkRfm,
    );
    const moved = full ? [] : movedRanges(previous!.asOfDay!, asOfDay, offsets);
    const changedKeys = events.get(link.dataset)!.touched;
    let keys: string[] | null = null;
    if (!full && changedKeys !== null) {
      const crossing = await store.customersInRanges(trx, link.dataset, moved);
      keys = [...new Set([...changedKeys, ...crossing])];
    }
    const shape = eventsShape(deps, link);
    const values = await aggregateLink(trx, shape, fields, linkRfm, asOfDay, { keys });
    await store.replaceAggregates(trx, input.dataset, linkName, keys, values);
    if (keys === null) result.customersRecomputed = -1;
    else if (result.customersRecomputed >= 0) result.customersRecomputed += keys.length;

    // Golden records owning several keys: recomputed when their keys changed or any of their
    // keys was recomputed above; the others keep their stored values.
    const ownership = assignLinkKeys(goldens, link.field, memberKeys.get(linkName)!);
    const multi = ownership.multi;
    const listed = await links.loadLinkKeys(trx, input.dataset, linkName);
    const before = new Map([...listed].filter(([, list]) => list.length > 1));
    await links.replaceLinkKeys(trx, input.dataset, linkName, listedKeys(ownership));
    const recomputed = keys === null ? null : new Set(keys);
    const masters =
      recomputed === null
        ? null
        : [...multi]
            .filter(
              ([id, list]) =>
                !sameKeys(before.get(id), list) || list.some((key) => recomputed.has(key)),
            )
            .map(([id]) => id);
    const pairs = (masters ?? [...multi.keys()]).flatMap((id) =>
      multi.get(id)!.map((key): [string, string] => [id, key]),
    );
    const removed = [...before.keys()].filter((id) => !multi.has(id));
    const masterValues =
      pairs.length > 0
        ? await aggregateLink(trx, shape, fields, linkRfm, asOfDay, { groups: pairs })
        : new Map();
    await links.replaceMasterAggregates(
      trx,
      input.dataset,
      linkName,
      masters,
      masterValues,
      removed,
    );
    if (masters !== null && result.customersRecomputed >= 0)
      result.customersRecomputed += masters.length;

    // After a full recompute the values just written are all there is: reading them back
    // would hold a second copy of every customer's aggregates (gigabytes at 10M orders).
    perLink.set(linkName, {
      byKey: keys === null ? values : await store.loadAggregates(trx, input.dataset, linkName),
      byMaster:
        masters === null
          ? masterValues
          : await links.loadMasterAggregates(trx, input.dataset, linkName),
      ownership,
    });
  }
  beat('aggregates');

  const scores =
    rfm && grid
      ? scoreLink(perLink.get(rfm.link)!, goldens, dataset, grid.grid, asOfDay)
      : undefined;
  await writePreparedRecords(trx, input.dataset, dataset, goldens, perLink, scores, result, nowMs);
  await store.setPreparedState(trx, input.dataset, { configHash, asOfDay }, nowMs);
  return result;
}

/**
 * One link's stored aggregates: per customer key, and per golden record owning several keys,
 * whose values cover the events of all of them; and which record owns which key.
 */
interface LinkValues {
  byKey: Map<string, store.AggregateValues>;
  byMaster: Map<string, store.AggregateValues>;
  ownership: LinkOwnership;
}

/**
 * Every active golden record through the golden-level recipes. A record a recipe drops, or one
 * left with no value at all (every member dropped at source level), is left out, so plan does
 * not send it and its keys do not count.
 */
async function preparedGoldens(
  trx: Knex.Transaction,
  name: string,
  dataset: DatasetConfig,
  result: PrepareDatasetResult,
): Promise<PreparedGolden[]> {
  const recipes = compileGoldenRecipes(dataset, name);
  const goldens = await store.guarded('loadGoldenRecords', 'golden_records', () =>
    loadGoldenRecords(trx, name),
  );
  const out: PreparedGolden[] = [];
  for (const golden of goldens) {
    const attributes = recipes(golden.attributes);
    if (attributes === null || Object.values(attributes).every((v) => isBlank(v)))
      result.recordsLeftOut += 1;
    else out.push({ masterId: golden.masterId, attributes });
  }
  return out;
}

/**
 * Computed fields and RFM aggregates (at each look-back) of one link, per customer key: one
 * GROUP BY for all of them (see store.aggregateLinkRows).
 */
async function aggregateLink(
  trx: Knex.Transaction,
  shape: store.EventsShape,
  fields: Array<[string, ComputedField]>,
  rfm: NonNullable<DatasetConfig['scores']>['rfm'],
  asOfDay: number,
  scope: store.AggregateScope,
): Promise<Map<string, store.AggregateValues>> {
  let rfmSpec: Parameters<typeof store.aggregateLinkRows>[3];
  const points = [0, ...(rfm?.history?.lookbackDays ?? [])];
  if (rfm) {
    if ((rfm.date ?? shape.columns.date) !== shape.columns.date) {
      throw new ConfigError(
        `scores.rfm.date: RFM dates come from the events' date column "${shape.columns.date}"`,
      );
    }
    const columns = {
      amount: rfm.amount ?? shape.columns.amount!,
      orderId: rfm.orderId ?? shape.columns.orderId,
    };
    const frame = rfm.history?.windowDays;
    rfmSpec = {
      columns,
      points: points.map((point) => ({
        upToDay: asOfDay - point,
        afterDay: frame ? asOfDay - point - frame : null,
      })),
    };
  }
  const values = new Map<string, store.AggregateValues>();
  const rows = await store.aggregateLinkRows(trx, shape, fields, rfmSpec, asOfDay, scope);
  for (const [key, got] of rows) {
    // Each row let go as it is converted: two full copies of a million customers' values
    // were a large part of a 10M-order prepare's peak memory.
    rows.delete(key);
    const computed: Record<string, string | null> = {};
    for (const [name, value] of Object.entries(got.computed)) computed[name] = formatValue(value);
    const entry: store.AggregateValues = { computed };
    got.rfm.forEach((agg, i) => {
      if (agg) (entry.rfm ??= {})[String(points[i])] = agg;
    });
    values.set(key, entry);
  }
  return values;
}

/**
 * RFM fields per unit (`k:<customer key>` or `m:<master id>`, see linkedUnit), scored over the
 * base of the dataset's prepared golden records with orders: each counts once, with the orders
 * of every key it owns. Orders of customers without a profile stay out of the base: they would
 * move every profile's sextiles without ever being sent.
 */
function scoreLink(
  values: LinkValues,
  goldens: PreparedGolden[],
  dataset: DatasetConfig,
  grid: ReturnType<typeof rfmGrid>['grid'],
  asOfDay: number,
): Map<string, Record<string, string>> {
  const rfm = dataset.scores!.rfm!;
  const field = dataset.links[rfm.link]!.field;
  const lookbackDays = rfm.history?.lookbackDays ?? [];
  const byPoint = new Map<number, RfmAggregate[]>();
  for (const point of [0, ...lookbackDays]) byPoint.set(point, []);
  for (const golden of goldens) {
    const unit = linkedUnit(golden, field, values.ownership);
    if (unit === undefined) continue;
    const aggregates = unit.startsWith('m:')
      ? values.byMaster.get(unit.slice(2))
      : values.byKey.get(unit.slice(2));
    for (const [point, agg] of Object.entries(aggregates?.rfm ?? {})) {
      byPoint.get(Number(point))?.push({ customerKey: unit, ...agg });
    }
  }
  return rfmFields(byPoint, { asOfDay, bins: rfm.bins, grid, lookbackDays, prefix: rfm.prefix });
}

/**
 * Prepared golden records with the computed fields and scores of their linked customer,
 * hashed; only rows whose hash changed are written.
 */
async function writePreparedRecords(
  trx: Knex.Transaction,
  name: string,
  dataset: DatasetConfig,
  goldens: PreparedGolden[],
  perLink: Map<string, LinkValues>,
  scores: Map<string, Record<string, string>> | undefined,
  result: PrepareDatasetResult,
  nowMs: number,
): Promise<void> {
  const before = await store.loadPreparedHashes(trx, name);
  const rfm = dataset.scores?.rfm;
  const layout = attributeLayout(dataset);
  // Nothing stored yet (a first prepare): plain inserts, no row to replace.
  const fresh = before.size === 0;
  // Written a batch at a time: a million prepared rows held until the end cost gigabytes.
  let changed: store.PreparedRow[] = [];
  const flush = async () => {
    await store.writePrepared(trx, name, changed, [], nowMs, { fresh });
    result.recordsChanged += changed.length;
    changed = [];
  };

  const added: Array<string | undefined> = new Array(layout.names.length);
  for (const golden of goldens) {
    added.fill(undefined);
    for (const [linkName, link] of Object.entries(dataset.links)) {
      const linked = perLink.get(linkName)!;
      const unit = linkedUnit(golden, link.field, linked.ownership);
      const values =
        unit === undefined
          ? undefined
          : unit.startsWith('m:')
            ? linked.byMaster.get(unit.slice(2))
            : linked.byKey.get(unit.slice(2));
      for (const { field, slot, none } of layout.computed.get(linkName) ?? []) {
        added[slot] = values?.computed[field] ?? none;
      }
      if (rfm?.link === linkName) {
        for (const slot of layout.rfmSlots) added[slot] = '';
        const fields = unit === undefined ? undefined : scores!.get(unit);
        if (fields) for (const field in fields) added[layout.slots.get(field)!] = fields[field];
      }
    }
    const attributes = attributesJson(golden.attributes, layout, added);
    const hash = createHash('sha256').update(attributes).digest('hex');
    result.recordsPrepared += 1;
    const previous = before.get(golden.masterId);
    // What is left in `before` afterwards are the rows of records no longer prepared.
    before.delete(golden.masterId);
    if (previous !== hash) changed.push({ masterId: golden.masterId, attributes, hash });
    if (changed.length >= BATCH_RECORDS) await flush();
  }
  await flush();
  const removed = [...before.keys()];
  await store.writePrepared(trx, name, [], removed, nowMs, { fresh });
  result.recordsChanged += removed.length;
}

/**
 * Where computed fields and scores go in a prepared record: every added name once, in the
 * order the record's JSON lists them (a name first set by a computed field keeps that place
 * when the scores set it again, as Object.assign would).
 */
interface AttributeLayout {
  names: string[];
  slots: Map<string, number>;
  computed: Map<string, Array<{ field: string; slot: number; none: string }>>;
  rfmSlots: number[];
  /** A name such as "12" would sort first in a JavaScript object: such layouts build objects. */
  plain: boolean;
}

function attributeLayout(dataset: DatasetConfig): AttributeLayout {
  const layout: AttributeLayout = {
    names: [],
    slots: new Map(),
    computed: new Map(),
    rfmSlots: [],
    plain: true,
  };
  const slot = (name: string) => {
    let at = layout.slots.get(name);
    if (at === undefined) {
      layout.slots.set(name, (at = layout.names.length));
      layout.names.push(name);
      if (/^(0|[1-9]\d*)$/.test(name)) layout.plain = false;
    }
    return at;
  };
  const rfm = dataset.scores?.rfm;
  for (const linkName of Object.keys(dataset.links)) {
    const fields = Object.entries(dataset.computed).filter(([, spec]) => spec.link === linkName);
    layout.computed.set(
      linkName,
      fields.map(([field, spec]) => ({
        field,
        slot: slot(field),
        none: ZERO_WHEN_NONE.has(spec.op) ? '0' : '',
      })),
    );
    if (rfm?.link === linkName) layout.rfmSlots = Object.keys(emptyRfm(rfm)).map(slot);
  }
  return layout;
}

/**
 * The JSON of the golden attributes with the added values, byte for byte what JSON.stringify
 * gives for `{ ...prepared, ...added }`, without building that object: at a million records,
 * objects grown field by field cost more than everything else prepare does in JavaScript.
 */
function attributesJson(
  prepared: Record<string, string>,
  layout: AttributeLayout,
  added: Array<string | undefined>,
): string {
  if (!layout.plain) {
    const out: Record<string, string | undefined> = { ...prepared };
    layout.names.forEach((name, i) => {
      if (added[i] !== undefined) out[name] = added[i];
    });
    return JSON.stringify(out);
  }
  const parts: string[] = [];
  for (const key of Object.keys(prepared)) {
    const at = layout.slots.get(key);
    const value = at !== undefined && added[at] !== undefined ? added[at] : prepared[key];
    if (value !== undefined) parts.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
  }
  layout.names.forEach((name, i) => {
    const value = added[i];
    if (value !== undefined && !Object.prototype.hasOwnProperty.call(prepared, name)) {
      parts.push(`${JSON.stringify(name)}:${JSON.stringify(value)}`);
    }
  });
  return `{${parts.join(',')}}`;
}

/** Every RFM field name, blank: what a golden record without orders gets. */
function emptyRfm(rfm: {
  prefix: string;
  history?: { lookbackDays: number[] };
}): Record<string, string> {
  const lookbacks = rfm.history?.lookbackDays ?? [];
  const names = [
    ...RFM_FIELDS,
    ...lookbacks.map((days) => `segment_${days}d_ago`),
    ...(lookbacks.length > 0 ? ['segment_change'] : []),
  ];
  return Object.fromEntries(names.map((n) => [`${rfm.prefix}${n}`, '']));
}

function eventsShape(deps: ActivityDeps, link: LinkConfig): store.EventsShape {
  const target = deps.config.datasets[link.dataset]!;
  const numeric = Object.entries(target.fields)
    .filter(([, type]) => type === 'number')
    .map(([column]) => column);
  return { dataset: link.dataset, columns: target.events!, numeric: new Set(numeric) };
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

// Outside an activity (tests calling prepareDataset directly) there is no context to beat to.
function heartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // Not running as an activity.
  }
}

interface MaterializedEvents {
  /** Customer keys whose events changed; null when every customer must be recomputed. */
  touched: Set<string> | null;
  changed: number;
  unusable: number;
}

/**
 * Brings an events dataset's table up to date with staging: new, changed and deleted records
 * only, or all of them when its sources, columns or source-level recipes changed (their hash
 * is kept in prepared_state under the events dataset's name). Unusable events (no customer,
 * no readable date) are kept as such, so they are reported once, not at every run.
 */
async function materializeEvents(
  trx: Knex.Transaction,
  name: string,
  dataset: DatasetConfig,
  runId: string,
  nowMs: number,
): Promise<MaterializedEvents> {
  const columns = dataset.events!;
  const hash = createHash('sha256')
    .update(JSON.stringify([[...dataset.sources].sort(), columns, sourceRecipesOf(dataset)]))
    .digest('hex');
  // Read before any source record: every change below the mark is then visible to this run.
  const mark = await changeSeqMark(trx);
  const state = await store.getPreparedState(trx, name);
  const full = state?.configHash !== hash;
  const recipes = compileSourceRecipes(dataset, name);
  const touched = new Set<string>();
  const result: MaterializedEvents = { touched: full ? null : touched, changed: 0, unusable: 0 };
  const errors: Array<Record<string, unknown>> = [];

  const writeBatch = async (ids: number[], deleted: number[], fresh = false) => {
    const rows: store.EventRow[] = [];
    for (const record of await store.loadSourcePayloads(trx, ids)) {
      const values = recipes(record.source, record.values);
      const outcome = values === null ? null : toEvent(values, columns);
      if (outcome?.ok) touched.add(outcome.event.customerKey);
      else if (outcome) {
        result.unusable += 1;
        if (errors.length < REPORTED_UNUSABLE) errors.push(unusableError(runId, record, outcome));
      }
      // A record dropped by a recipe is kept as unusable too, so it is not read again.
      rows.push({
        recordId: record.id,
        contentHash: record.contentHash,
        values: values ?? {},
        event: outcome?.ok ? outcome.event : null,
      });
    }
    await store.writeEvents(trx, name, rows, deleted, { fresh });
    result.changed += ids.length + deleted.length;
  };

  if (full && sourceRecipesOf(dataset).length === 0) {
    // No recipe to run: the database reads the columns out of the staged JSON itself, and
    // JavaScript sees only the rows it leaves (unusable ones, or values written unusually).
    await store.deleteAllEvents(trx, name);
    const written = await store.insertEventsInSql(trx, name, dataset.sources, columns);
    if (isPostgres(trx)) await trx.raw('ANALYZE prepared_events');
    const left = await store.listEventPlaceholders(trx, name);
    for (let i = 0; i < left.length; i += BATCH_RECORDS)
      await writeBatch(left.slice(i, i + BATCH_RECORDS), []);
    result.changed = written;
  } else if (full) {
    await store.deleteAllEvents(trx, name);
    for (let after = 0; ;) {
      const page = await store.guarded('pageLiveRecordIds', 'source_records', () =>
        pageLiveRecordIds(trx, dataset.sources, after, BATCH_RECORDS),
      );
      if (page.length === 0) break;
      await writeBatch(page, [], true);
      after = page[page.length - 1]!;
    }
    // Statistics for the table just filled, so the aggregates below use its indexes.
    if (isPostgres(trx)) await trx.raw('ANALYZE prepared_events');
  } else {
    // Records changed since the previous materialization's mark; before there was one, those
    // staged since it, less a margin for staging that committed late with an earlier clock.
    const since: ChangesSince =
      state?.changeSeqFrom != null
        ? { changeSeq: state.changeSeqFrom }
        : {
            stagedAtMs:
              state?.updatedAtMs === undefined ? null : state.updatedAtMs - STAGING_MARGIN_MS,
          };
    const changes = await store.listChangedEvents(trx, name, dataset.sources, since);
    for (const change of changes) if (change.previousKey !== null) touched.add(change.previousKey);
    const live = changes.filter((c) => !c.deleted).map((c) => c.id);
    const deleted = changes.filter((c) => c.deleted).map((c) => c.id);
    for (let i = 0; i < Math.max(live.length, 1); i += BATCH_RECORDS) {
      await writeBatch(live.slice(i, i + BATCH_RECORDS), i === 0 ? deleted : []);
    }
  }
  if (errors.length > 0) {
    await store.guarded('record unusable events', 'row_errors', () =>
      trx('row_errors').insert(errors),
    );
  }
  await store.setPreparedState(
    trx,
    name,
    { configHash: hash, asOfDay: null, changeSeqFrom: mark },
    nowMs,
  );
  return result;
}

/** A row_errors row naming the file and line (from the record's origin), never the value. */
function unusableError(
  runId: string,
  record: { source: string; recordKey: string; origin: string },
  outcome: { field: string; reason: string },
): Record<string, unknown> {
  const at = /^(.*):(\d+)$/.exec(record.origin);
  return {
    run_id: runId,
    stage: 'prepare',
    source: record.source,
    file_name: at ? at[1] : null,
    line: at ? Number(at[2]) : null,
    record_key: record.recordKey,
    field: outcome.field,
    reason: outcome.reason,
  };
}
