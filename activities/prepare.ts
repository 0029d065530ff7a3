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
import { compileGoldenRecipes, compileSourceRecipes, recipesAt, sourceRecipesOf } from '../domain/recipes/compile';
import { parseIsoDay } from '../domain/rfm/days';
import { isBlank } from '../domain/normalize';
import { isPostgres } from '../store/db';
import { loadGoldenRecords, pageLiveRecordIds } from '../store/identity';
import * as store from '../store/prepared';
import { getRun } from '../store/runs';
import { clock, type ActivityDeps } from './deps';
import { withFailures } from './failure';

/** Records read, recipes applied and written per step. */
const BATCH_RECORDS = 5000;
/** Unusable events listed in row_errors per run; the count covers them all. */
const REPORTED_UNUSABLE = 200;
const MS_PER_DAY = 86_400_000;
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
export async function prepareDataset(deps: ActivityDeps, input: PrepareDatasetInput): Promise<PrepareDatasetResult> {
  return withFailures(async () => {
    const result = await prepareDatasetNow(deps, input);
    log.info('Dataset prepared', { dataset: input.dataset, ...result });
    return result;
  });
}

/** The work of prepareDataset, callable outside an activity (tests, command-line tools). */
export async function prepareDatasetNow(deps: ActivityDeps, input: PrepareDatasetInput): Promise<PrepareDatasetResult> {
  {
    const dataset = deps.config.datasets[input.dataset];
    if (!dataset) throw new ConfigError(`Unknown dataset "${input.dataset}"`);
    const run = await store.guarded('getRun', 'runs', () => getRun(deps.db, input.runId));
    const startedAtMs = run?.startedAtMs ?? clock(deps);
    const asOfDay = dataset.asOf ? parseIsoDay(dataset.asOf) : Math.floor(startedAtMs / MS_PER_DAY);
    if (asOfDay === undefined) throw new ConfigError(`datasets.${input.dataset}.asOf: not a real date`);

    // Store steps name themselves; this catches the rest (BEGIN, COMMIT) without row values.
    const where = `dataset "${input.dataset}"`;
    return store.guarded('transaction', where, () =>
      deps.db.transaction((trx) => prepareIn(deps, trx, input, dataset, asOfDay)),
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
    asOfDay, eventsChanged: 0, eventsUnusable: 0, customersRecomputed: 0,
    recordsPrepared: 0, recordsChanged: 0, recordsLeftOut: 0,
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
    recipesAt(dataset, 'golden'), dataset.links, dataset.computed, rfm ?? null, grid?.source ?? null,
    ...[...events.keys()].sort().map((name) => deps.config.datasets[name]!.events),
  ]);
  const previous = await store.getPreparedState(trx, input.dataset);
  const full = previous?.configHash !== configHash || previous.asOfDay === null;

  const perLink = new Map<string, Map<string, store.AggregateValues>>();
  for (const [linkName, link] of Object.entries(dataset.links)) {
    const fields = Object.entries(dataset.computed).filter(([, f]) => f.link === linkName);
    const linkRfm = rfm?.link === linkName ? rfm : undefined;
    const offsets = cutoffOffsets(fields.map(([, f]) => f), linkRfm);
    const moved = full ? [] : movedRanges(previous!.asOfDay!, asOfDay, offsets);
    const changedKeys = events.get(link.dataset)!.touched;
    let keys: string[] | null = null;
    if (!full && changedKeys !== null) {
      const crossing = await store.customersInRanges(trx, link.dataset, moved);
      keys = [...new Set([...changedKeys, ...crossing])];
    }
    const shape = eventsShape(deps, link);
    const values = await aggregateLink(trx, shape, fields, linkRfm, asOfDay, keys);
    await store.replaceAggregates(trx, input.dataset, linkName, keys, values);
    if (keys === null) result.customersRecomputed = -1;
    else if (result.customersRecomputed >= 0) result.customersRecomputed += keys.length;
    perLink.set(linkName, await store.loadAggregates(trx, input.dataset, linkName));
  }
  beat('aggregates');

  const scores = rfm && grid ? scoreLink(perLink.get(rfm.link)!, rfm, grid.grid, asOfDay) : undefined;
  await writePreparedRecords(trx, input.dataset, dataset, perLink, scores, result, nowMs);
  await store.setPreparedState(trx, input.dataset, { configHash, asOfDay }, nowMs);
  return result;
}

/** Computed fields and RFM aggregates (at each look-back) of one link, per customer key. */
async function aggregateLink(
  trx: Knex.Transaction,
  shape: store.EventsShape,
  fields: Array<[string, ComputedField]>,
  rfm: NonNullable<DatasetConfig['scores']>['rfm'],
  asOfDay: number,
  keys: string[] | null,
): Promise<Map<string, store.AggregateValues>> {
  const values = new Map<string, store.AggregateValues>();
  const entry = (key: string) => {
    let found = values.get(key);
    if (!found) values.set(key, (found = { computed: {} }));
    return found;
  };
  for (const [key, computed] of await store.aggregateComputed(trx, shape, fields, asOfDay, keys)) {
    const target = entry(key).computed;
    for (const [name, value] of Object.entries(computed)) target[name] = formatValue(value);
  }
  if (rfm) {
    if ((rfm.date ?? shape.columns.date) !== shape.columns.date) {
      throw new ConfigError(`scores.rfm.date: RFM dates come from the events' date column "${shape.columns.date}"`);
    }
    const columns = { amount: rfm.amount ?? shape.columns.amount!, orderId: rfm.orderId ?? shape.columns.orderId };
    const frame = rfm.history?.windowDays;
    for (const point of [0, ...(rfm.history?.lookbackDays ?? [])]) {
      const upTo = asOfDay - point;
      for (const agg of await store.aggregateRfm(trx, shape, columns, upTo, frame ? upTo - frame : null, keys)) {
        const { customerKey, ...rest } = agg;
        (entry(customerKey).rfm ??= {})[String(point)] = rest;
      }
    }
  }
  return values;
}

/** RFM fields per customer key, scored over every customer with orders (the whole base). */
function scoreLink(
  aggregates: Map<string, store.AggregateValues>,
  rfm: NonNullable<NonNullable<DatasetConfig['scores']>['rfm']>,
  grid: ReturnType<typeof rfmGrid>['grid'],
  asOfDay: number,
): Map<string, Record<string, string>> {
  const lookbackDays = rfm.history?.lookbackDays ?? [];
  const byPoint = new Map<number, RfmAggregate[]>();
  for (const point of [0, ...lookbackDays]) byPoint.set(point, []);
  for (const [customerKey, values] of aggregates) {
    for (const [point, agg] of Object.entries(values.rfm ?? {})) byPoint.get(Number(point))?.push({ customerKey, ...agg });
  }
  return rfmFields(byPoint, { asOfDay, bins: rfm.bins, grid, lookbackDays, prefix: rfm.prefix });
}

/**
 * Golden attributes → recipes → computed fields and scores of the linked customer, hashed; only
 * rows whose hash changed are written. A record a recipe drops, or one left with no value at
 * all (every member dropped at source level), is left out, so plan does not send it.
 */
async function writePreparedRecords(
  trx: Knex.Transaction,
  name: string,
  dataset: DatasetConfig,
  perLink: Map<string, Map<string, store.AggregateValues>>,
  scores: Map<string, Record<string, string>> | undefined,
  result: PrepareDatasetResult,
  nowMs: number,
): Promise<void> {
  const recipes = compileGoldenRecipes(dataset, name);
  const before = await store.loadPreparedHashes(trx, name);
  const rfm = dataset.scores?.rfm;
  const rfmNames = rfm ? emptyRfm(rfm) : {};
  const changed: store.PreparedRow[] = [];
  const kept = new Set<string>();

  const goldens = await store.guarded('loadGoldenRecords', 'golden_records', () =>
    loadGoldenRecords(trx, name),
  );
  for (const golden of goldens) {
    const prepared = recipes(golden.attributes);
    if (prepared === null || Object.values(prepared).every((v) => isBlank(v))) {
      result.recordsLeftOut += 1;
      continue;
    }
    const out: Record<string, string> = { ...prepared };
    for (const [linkName, link] of Object.entries(dataset.links)) {
      const key = prepared[link.field]?.trim() ?? '';
      const values = key === '' ? undefined : perLink.get(linkName)!.get(key);
      for (const [field, spec] of Object.entries(dataset.computed)) {
        if (spec.link !== linkName) continue;
        out[field] = values?.computed[field] ?? (ZERO_WHEN_NONE.has(spec.op) ? '0' : '');
      }
      if (rfm?.link === linkName) Object.assign(out, rfmNames, (key && scores!.get(key)) || {});
    }
    const attributes = JSON.stringify(out);
    const hash = createHash('sha256').update(attributes).digest('hex');
    kept.add(golden.masterId);
    result.recordsPrepared += 1;
    if (before.get(golden.masterId) !== hash) changed.push({ masterId: golden.masterId, attributes, hash });
  }
  const removed = [...before.keys()].filter((id) => !kept.has(id));
  await store.writePrepared(trx, name, changed, removed, nowMs);
  result.recordsChanged = changed.length + removed.length;
}

/** Every RFM field name, blank: what a golden record without orders gets. */
function emptyRfm(rfm: { prefix: string; history?: { lookbackDays: number[] } }): Record<string, string> {
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
  const numeric = Object.entries(target.fields).filter(([, type]) => type === 'number').map(([column]) => column);
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
  const full = (await store.getPreparedState(trx, name))?.configHash !== hash;
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
      rows.push({ recordId: record.id, contentHash: record.contentHash, values: values ?? {}, event: outcome?.ok ? outcome.event : null });
    }
    await store.writeEvents(trx, name, rows, deleted, { fresh });
    result.changed += ids.length + deleted.length;
  };

  if (full) {
    await store.deleteAllEvents(trx, name);
    for (let after = 0; ; ) {
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
    const changes = await store.listChangedEvents(trx, name, dataset.sources);
    for (const change of changes) if (change.previousKey !== null) touched.add(change.previousKey);
    const live = changes.filter((c) => !c.deleted).map((c) => c.id);
    const deleted = changes.filter((c) => c.deleted).map((c) => c.id);
    for (let i = 0; i < Math.max(live.length, 1); i += BATCH_RECORDS) {
      await writeBatch(live.slice(i, i + BATCH_RECORDS), i === 0 ? deleted : []);
    }
  }
  if (errors.length > 0) {
    await store.guarded('record unusable events', 'row_errors', () => trx('row_errors').insert(errors));
  }
  await store.setPreparedState(trx, name, { configHash: hash, asOfDay: null }, nowMs);
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
