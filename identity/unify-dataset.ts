import type { Knex } from 'knex';
import type { DatasetConfig } from '../config/schema';
import { clusterComponent, type ClusterEvent, type ClusterRecord } from '../domain/identity/cluster';
import { compileIdentity, indexEntries, type CompiledIdentity } from '../domain/identity/key-values';
import { surviveGolden } from '../domain/identity/survive';
import { UnionFind } from '../domain/union-find';
import { inValues } from '../store/bulk';
import { isPostgres } from '../store/db';
import * as store from '../store/identity';
import { compileSourceRecipes, type SourceRecipes } from '../domain/recipes/compile';
import { findAffected } from './affected';
import { assignDerivedIds } from './master-ids';
import { groupBy, indexOfId } from './groups';

/**
 * Loads records with the dataset's source-level recipes (domain/recipes) applied to their
 * values: keys, clusters and survivorship all see the prepared values. The
 * recipes are found by the unify's own transaction, so concurrent unifies never share them. A
 * record a recipe drops keeps no values: it links to nothing, and prepare leaves its empty
 * golden record out.
 */
const recipesOf = new WeakMap<object, SourceRecipes>();

async function loadRows(...args: Parameters<typeof store.loadIdentityRows>): Promise<store.IdentitySourceRow[]> {
  const recipes = recipesOf.get(args[0]);
  const rows = await store.loadIdentityRows(...args);
  return recipes ? rows.map((row) => ({ ...row, values: recipes(row.source, row.values) ?? {} })) : rows;
}

/** Records loaded, clustered or written per step: bounds memory whatever the dataset size. */
const BATCH_RECORDS = 5000;
/** Index rows per page of the full-rebuild scan. */
const SCAN_PAGE = 20000;
/** How far before the last unify's newest staging time the next one looks for changes. */
const STAGING_MARGIN_MS = 15 * 60_000;
/** How many ambiguous records, largest clusters and sample joins a summary lists. */
const SAMPLE = 10;

export interface UnifyOptions {
  runId: string;
  nowMs: number;
  /** `full` rebuilds every cluster; `auto` (default) rebuilds only when the rules changed. */
  mode?: 'auto' | 'full';
  /** Compute and report, then roll everything back (`braid dedupe preview`). */
  dryRun?: boolean;
  heartbeat?: (progress: { phase: string; done: number }) => void;
  newMasterId?: () => string;
}

export interface UnifySummary {
  mode: 'full' | 'incremental' | 'unchanged';
  recordsChanged: number;
  recordsUnified: number;
  goldenRecords: number;
  created: number;
  updated: number;
  merged: number;
  split: number;
  retired: number;
  ambiguous: number;
  limitRefused: number;
  lockRefused: number;
  ambiguousRecords: Array<{ record: string; candidates: string[] }>;
  largestClusters: Array<{ masterId: string; size: number; linkedBy: string[] }>;
  sampleJoins: Record<string, Array<[string, string]>>;
  /** Problems with the rules seen in the data, e.g. a key column no staged record has. */
  warnings: string[];
}

class DryRunDone extends Error {
  constructor(readonly summary: UnifySummary) {
    super('dry run');
  }
}

/**
 * Unifies a dataset's staged records into golden records, in one transaction: a retried
 * attempt finds the work either done or not started. Only the records a change can reach are
 * re-clustered (see identity/affected.ts); with the rules changed, or `mode: 'full'`, all are.
 */
export async function unifyDataset(
  db: Knex,
  name: string,
  dataset: DatasetConfig,
  options: UnifyOptions,
): Promise<UnifySummary> {
  try {
    return await db.transaction(async (trx) => {
      // Two runs unifying one dataset at once (a worker and the webhook upsert) take turns.
      // SQLite serializes writers already; PostgreSQL needs the lock.
      if (isPostgres(db)) await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`braid-unify:${name}`]);
      const summary = await unifyIn(trx, name, dataset, options);
      if (options.dryRun) throw new DryRunDone(summary);
      return summary;
    });
  } catch (error) {
    if (error instanceof DryRunDone) return error.summary;
    throw error;
  }
}

async function unifyIn(
  trx: Knex.Transaction,
  name: string,
  dataset: DatasetConfig,
  options: UnifyOptions,
): Promise<UnifySummary> {
  const identity = compileIdentity(dataset);
  recipesOf.set(trx, compileSourceRecipes(dataset, name));
  const state = await store.getIdentityState(trx, name);
  const full = options.mode === 'full' || state?.rulesHash !== identity.hash;
  const beat = options.heartbeat ?? (() => undefined);

  let affected: Int32Array;
  let removed: number[] = [];
  let changedCount: number;
  let stagedUntilMs: number | null | undefined;
  if (full) {
    affected = await reindexAll(trx, name, dataset, identity, beat);
    changedCount = affected.length;
  } else {
    // Only records staged since the last unify can have changed. The margin covers clocks of
    // several workers that disagree and staging transactions that commit late.
    const since = state?.stagedUntilMs === null || state === undefined ? null : state.stagedUntilMs - STAGING_MARGIN_MS;
    const changes = await store.listChangedRecords(trx, name, dataset.sources, since);
    if (changes.length === 0) return unchangedSummary(trx, name);
    removed = changes.filter((c) => c.deleted).map((c) => c.id);
    const live = changes.filter((c) => !c.deleted).map((c) => c.id);
    await store.deleteKeys(trx, name, changes.map((c) => c.id));
    await indexRecords(trx, name, identity, live);
    affected = await findAffected(trx, name, live, changes.map((c) => c.id), new Set(removed));
    changedCount = changes.length;
    stagedUntilMs = changes.reduce((max, c) => Math.max(max, c.stagedAtMs), state?.stagedUntilMs ?? 0);
  }
  beat({ phase: 'indexed', done: affected.length });

  const components = full
    ? await componentsByScan(trx, name, affected)
    : await componentsByLookup(trx, name, affected);
  const previous = await previousGolden(trx, name, affected, full);
  const clustered = await clusterAll(trx, name, identity, affected, components, beat);
  const written = await writeClusters(trx, name, dataset, affected, previous, clustered, removed, full, options);
  await store.setIdentityState(trx, name, dataset.sources, identity.hash, options.nowMs, stagedUntilMs);
  // After a rebuild PostgreSQL's statistics still describe the old tables; fresh ones keep the
  // next incremental run on its indexes.
  if (full && isPostgres(trx)) await trx.raw('ANALYZE identity_keys, identity_members, golden_records');

  const goldenRecords = await countActive(trx, name);
  return {
    warnings: full ? await missingColumns(trx, dataset) : [],
    mode: full ? 'full' : 'incremental',
    recordsChanged: changedCount,
    recordsUnified: affected.length,
    goldenRecords,
    ...written,
    ambiguous: clustered.held.size,
    limitRefused: clustered.events.filter((e) => e.kind === 'limit_refused').length,
    lockRefused: clustered.events.filter((e) => e.kind === 'lock_refused').length,
  };
}

/** Rebuilds the key index of every live record; returns their ids, ascending. */
async function reindexAll(
  trx: Knex.Transaction,
  name: string,
  dataset: DatasetConfig,
  identity: CompiledIdentity,
  beat: NonNullable<UnifyOptions['heartbeat']>,
): Promise<Int32Array> {
  await store.deleteKeys(trx, name);
  let ids = new Int32Array(1024);
  let count = 0;
  let after = 0;
  for (;;) {
    const page = await store.pageLiveRecordIds(trx, dataset.sources, after, BATCH_RECORDS);
    if (page.length === 0) break;
    await indexRecords(trx, name, identity, page);
    if (count + page.length > ids.length) {
      const grown = new Int32Array(Math.max(ids.length * 2, count + page.length));
      grown.set(ids.subarray(0, count));
      ids = grown;
    }
    ids.set(page, count);
    count += page.length;
    after = page[page.length - 1]!;
    beat({ phase: 'indexing', done: count });
  }
  return ids.slice(0, count);
}

async function indexRecords(trx: Knex.Transaction, name: string, identity: CompiledIdentity, ids: number[]) {
  for (let i = 0; i < ids.length; i += BATCH_RECORDS) {
    const rows = await loadRows(trx, ids.slice(i, i + BATCH_RECORDS));
    const keys: store.KeyRow[] = [];
    for (const row of rows) {
      for (const entry of indexEntries(identity.identify(row.values))) keys.push({ recordId: row.id, ...entry });
    }
    await store.insertKeys(trx, name, keys);
  }
}

/**
 * Connected components of the affected records over shared index values, found by walking the
 * index in value order: memory holds one page of index rows and a few integers per record.
 */
async function componentsByScan(trx: Knex.Transaction, name: string, affected: Int32Array): Promise<UnionFind> {
  const sets = new UnionFind(affected.length);
  let after: { key: string; value: string; recordId: number } | null = null;
  let runKey = '';
  let runValue = '';
  let runFirst = -1;
  for (;;) {
    const page = await store.scanKeys(trx, name, after, SCAN_PAGE);
    if (page.length === 0) break;
    for (const row of page) {
      const index = indexOfId(affected, row.recordId);
      if (index < 0) continue;
      if (runFirst >= 0 && row.key === runKey && row.value === runValue) sets.union(runFirst, index);
      else [runKey, runValue, runFirst] = [row.key, row.value, index];
    }
    const last = page[page.length - 1]!;
    after = { key: last.key, value: last.value, recordId: last.recordId };
  }
  return sets;
}

async function componentsByLookup(trx: Knex.Transaction, name: string, affected: Int32Array): Promise<UnionFind> {
  const sets = new UnionFind(affected.length);
  const first = new Map<string, number>();
  for (const row of await store.keysOfRecords(trx, name, Array.from(affected))) {
    const index = indexOfId(affected, row.recordId);
    const value = `${row.key}\u0000${row.value}`;
    const holder = first.get(value);
    if (holder === undefined) first.set(value, index);
    else sets.union(holder, index);
  }
  return sets;
}

/** Golden id each affected record had (-1: none), by index. */
async function previousGolden(
  trx: Knex.Transaction,
  name: string,
  affected: Int32Array,
  full: boolean,
): Promise<Int32Array> {
  const out = new Int32Array(affected.length).fill(-1);
  if (full) {
    const rows = await trx('identity_members').where({ dataset: name }).whereNotNull('golden_id').select('record_id', 'golden_id');
    for (const row of rows) {
      const index = indexOfId(affected, Number(row.record_id));
      if (index >= 0) out[index] = Number(row.golden_id);
    }
  } else {
    const map = await store.loadPreviousGolden(trx, name, Array.from(affected));
    affected.forEach((id, index) => {
      const golden = map.get(id);
      if (golden !== undefined) out[index] = golden;
    });
  }
  return out;
}

interface Clustered {
  /** Cluster number of each affected record (by index); -1 for held records. */
  clusterOf: Int32Array;
  clusterCount: number;
  linkedBy: Map<number, string[]>;
  held: Map<number, number[]>;
  events: ClusterEvent[];
  joins: Array<{ via: string; records: [number, number] }>;
}

/**
 * Clusters component by component. A component of one record is its own cluster without
 * reading it; larger ones are loaded in batches and run through the rules.
 */
async function clusterAll(
  trx: Knex.Transaction,
  name: string,
  identity: CompiledIdentity,
  affected: Int32Array,
  sets: UnionFind,
  beat: NonNullable<UnifyOptions['heartbeat']>,
): Promise<Clustered> {
  const out: Clustered = {
    clusterOf: new Int32Array(affected.length).fill(-1),
    clusterCount: 0,
    linkedBy: new Map(),
    held: new Map(),
    events: [],
    joins: [],
  };
  const components = groupBy(affected.length, (i) => sets.find(i));
  const joinsPerRule = new Map<string, number>();
  let pending: number[][] = [];
  let pendingRecords = 0;

  const flush = async () => {
    const ids = pending.flatMap((component) => component.map((i) => affected[i]!));
    const rows = new Map((await loadRows(trx, ids)).map((r) => [r.id, r]));
    for (const component of pending) {
      const records: ClusterRecord[] = component.map((i) => {
        const id = affected[i]!;
        const { blocks: _blocks, ...identityOf } = identity.identify(rows.get(id)!.values);
        return { id, ...identityOf };
      });
      const outcome = clusterComponent(records, identity.plan);
      outcome.clusters.forEach((members, c) => {
        const cluster = out.clusterCount++;
        for (const id of members) out.clusterOf[indexOfId(affected, id)] = cluster;
        if (outcome.linkedBy[c]!.length > 0) out.linkedBy.set(cluster, outcome.linkedBy[c]!);
      });
      for (const event of outcome.events) {
        out.events.push(event);
        if (event.kind === 'ambiguous') out.held.set(event.record, event.candidates);
      }
      // Only a sample per rule is reported; keeping every join would grow with the input.
      for (const join of outcome.joins) {
        const seen = joinsPerRule.get(join.via) ?? 0;
        if (seen < SAMPLE) out.joins.push(join);
        joinsPerRule.set(join.via, seen + 1);
      }
    }
    beat({ phase: 'clustering', done: out.clusterCount });
    pending = [];
    pendingRecords = 0;
  };

  for (const component of components) {
    if (component.length === 1) {
      out.clusterOf[component[0]!] = out.clusterCount++;
      continue;
    }
    pending.push(component);
    pendingRecords += component.length;
    if (pendingRecords >= BATCH_RECORDS) await flush();
  }
  if (pending.length > 0) await flush();
  return out;
}

interface Written {
  created: number;
  updated: number;
  merged: number;
  split: number;
  retired: number;
  ambiguousRecords: UnifySummary['ambiguousRecords'];
  largestClusters: UnifySummary['largestClusters'];
  sampleJoins: UnifySummary['sampleJoins'];
}

/**
 * Gives each cluster its master id and writes golden records, memberships and the event log.
 * An existing golden record stays with the cluster holding most of its former members (so a
 * split keeps the id on its larger part); a cluster granted several keeps the oldest, and the
 * others are recorded as merged into it.
 */
async function writeClusters(
  trx: Knex.Transaction,
  name: string,
  dataset: DatasetConfig,
  affected: Int32Array,
  previous: Int32Array,
  clustered: Clustered,
  removed: number[],
  full: boolean,
  options: UnifyOptions,
): Promise<Written> {
  const { clusterOf, clusterCount } = clustered;
  const members = groupBy(affected.length, (i) => clusterOf[i]!, (i) => clusterOf[i]! >= 0);
  const clusterMinIndex = new Int32Array(clusterCount);
  members.forEach((list) => (clusterMinIndex[clusterOf[list[0]!]!] = list[0]!));

  // Which cluster each former golden record goes to: the one holding most of its members.
  const holdings = new Map<number, Map<number, number>>();
  affected.forEach((_, i) => {
    const golden = previous[i]!;
    const cluster = clusterOf[i]!;
    if (golden < 0 || cluster < 0) return;
    const counts = holdings.get(golden) ?? new Map<number, number>();
    counts.set(cluster, (counts.get(cluster) ?? 0) + 1);
    holdings.set(golden, counts);
  });
  const granted = new Map<number, number[]>();
  const splitFrom = new Map<number, number[]>();
  for (const [golden, counts] of holdings) {
    let winner = -1;
    let best = 0;
    for (const [cluster, count] of counts) {
      const better = count > best || (count === best && clusterMinIndex[cluster]! < clusterMinIndex[winner]!);
      if (better) [winner, best] = [cluster, count];
    }
    granted.set(winner, [...(granted.get(winner) ?? []), golden]);
    for (const cluster of counts.keys()) {
      if (cluster !== winner) splitFrom.set(cluster, [...(splitFrom.get(cluster) ?? []), golden]);
    }
  }

  // A full rebuild answers for every golden record of the dataset, not only those it reached.
  const activeBefore = full ? await store.activeGoldenIds(trx, name) : [];
  const removedGolden = (await store.loadPreviousGolden(trx, name, removed)).values();
  await store.replaceMembers(trx, name, full ? 'all' : [...Array.from(affected), ...removed], []);
  let nextId = await store.maxGoldenId(trx);
  const masterOfCluster = new Map<number, string>();
  const events: store.IdentityEvent[] = [];
  const counts = { created: 0, updated: 0, merged: 0, split: 0, retired: 0 };
  const largest: UnifySummary['largestClusters'] = [];
  const keptGolden = new Set<number>();

  for (let start = 0; start < members.length; ) {
    let end = start;
    let size = 0;
    while (end < members.length && (size === 0 || size + members[end]!.length <= BATCH_RECORDS)) {
      size += members[end]!.length;
      end += 1;
    }
    const batch = members.slice(start, end);
    start = end;

    const rows = new Map(
      (await loadRows(trx, batch.flatMap((list) => list.map((i) => affected[i]!)))).map((r) => [r.id, r]),
    );
    const grantedHere = batch.flatMap((list) => granted.get(clusterOf[list[0]!]!) ?? []);
    const stored = await store.loadGoldenByIds(trx, grantedHere);
    const newIds = await newMasterIds(trx, name, batch, (list) => {
      const cluster = clusterOf[list[0]!]!;
      if (granted.has(cluster)) return undefined;
      return list.map((i) => rows.get(affected[i]!)!).map((r) => `${r.source}:${r.recordKey}`).sort()[0];
    }, options.newMasterId);
    const inserts: store.GoldenRow[] = [];
    const updates: store.GoldenRow[] = [];
    const memberRows: store.MemberRow[] = [];

    for (const list of batch) {
      const cluster = clusterOf[list[0]!]!;
      const records = list.map((i) => rows.get(affected[i]!)!);
      const grants = (granted.get(cluster) ?? []).sort((a, b) => a - b);
      const keep = grants[0];
      const row: store.GoldenRow = {
        id: keep ?? ++nextId,
        masterId: keep !== undefined ? stored.get(keep)!.masterId : newIds.get(list)!,
        attributes: JSON.stringify(surviveGolden(records, dataset.survivorship)),
        sourceKeys: JSON.stringify(records.map((r) => `${r.source}:${r.recordKey}`)),
        linkedBy: JSON.stringify(clustered.linkedBy.get(cluster) ?? []),
        memberCount: records.length,
      };
      masterOfCluster.set(cluster, row.masterId);
      if (keep === undefined) {
        inserts.push(row);
        counts.created += 1;
      } else {
        keptGolden.add(keep);
        const before = stored.get(keep)!;
        const same =
          before.status === 'active' &&
          before.attributes === row.attributes &&
          before.sourceKeys === row.sourceKeys &&
          before.linkedBy === row.linkedBy;
        if (!same) {
          updates.push(row);
          counts.updated += 1;
        }
      }
      const rule = (clustered.linkedBy.get(cluster) ?? []).join(',') || 'rebuild';
      for (const other of grants.slice(1)) {
        keptGolden.add(other);
        const otherMaster = stored.get(other)!.masterId;
        await store.retireGolden(trx, other, row.masterId, options.nowMs);
        events.push({ kind: 'merge', masterId: row.masterId, otherMasterId: otherMaster, rule });
        counts.merged += 1;
      }
      for (const record of records) {
        memberRows.push({ recordId: record.id, goldenId: row.id, contentHash: record.contentHash });
      }
      noteLargest(largest, { masterId: row.masterId, size: records.length, linkedBy: clustered.linkedBy.get(cluster) ?? [] });
    }
    await store.insertGolden(trx, name, inserts, options.nowMs);
    await store.updateGolden(trx, updates, options.nowMs);
    await store.replaceMembers(trx, name, [], memberRows);
    options.heartbeat?.({ phase: 'writing', done: start });
  }

  // Splits: the smaller parts of a former golden record, now golden records of their own.
  const splitGolden = await store.loadGoldenByIds(trx, [...new Set([...splitFrom.values()].flat())]);
  for (const [cluster, goldens] of splitFrom) {
    for (const golden of goldens) {
      events.push({
        kind: 'split',
        masterId: masterOfCluster.get(cluster)!,
        otherMasterId: splitGolden.get(golden)!.masterId,
        rule: 'no longer linked',
      });
      counts.split += 1;
    }
  }

  // Former golden records that lost every member (deleted at the source or held back).
  const formerIds = new Set<number>();
  previous.forEach((golden) => golden >= 0 && formerIds.add(golden));
  for (const golden of removedGolden) formerIds.add(golden);
  for (const golden of activeBefore) formerIds.add(golden);
  for (const golden of formerIds) {
    if (keptGolden.has(golden)) continue;
    await store.retireGolden(trx, golden, null, options.nowMs);
    counts.retired += 1;
  }

  // Held records: membership without a golden record, listed with the clusters they could join.
  const held: store.MemberRow[] = [];
  const ambiguousRecords: UnifySummary['ambiguousRecords'] = [];
  const heldRows = await loadRows(trx, [...clustered.held.keys()]);
  for (const row of heldRows) {
    held.push({ recordId: row.id, goldenId: null, contentHash: row.contentHash });
    const candidates = clustered.held.get(row.id)!.map((id) => {
      const cluster = clusterOf[indexOfId(affected, id)]!;
      return masterOfCluster.get(cluster) ?? '';
    });
    if (ambiguousRecords.length < SAMPLE) ambiguousRecords.push({ record: `${row.source}:${row.recordKey}`, candidates });
    events.push({
      kind: 'ambiguous',
      masterId: '',
      otherMasterId: candidates.join(',').slice(0, 64),
      rule: clustered.events.find((e) => e.kind === 'ambiguous' && e.record === row.id)?.rule ?? 'ambiguous',
      detail: { record: `${row.source}:${row.recordKey}`, candidates },
    });
  }
  await store.replaceMembers(trx, name, [], held);
  for (const event of clustered.events) {
    if (event.kind === 'limit_refused' || event.kind === 'lock_refused' || event.kind === 'block_too_large') {
      events.push({ kind: event.kind, masterId: '', otherMasterId: '', rule: event.rule, detail: event });
    }
  }
  await store.insertEvents(trx, name, options.runId, events, options.nowMs);

  return {
    ...counts,
    ambiguousRecords,
    largestClusters: largest,
    sampleJoins: await sampleJoins(trx, name, clustered.joins),
  };
}

/**
 * Master ids for the batch's clusters that need a new one (`founderOf` returns the smallest
 * `source:record_key` of such a cluster, undefined for the others): derived from the data, or
 * from `given` (tests) in cluster order.
 */
async function newMasterIds(
  trx: Knex.Transaction,
  dataset: string,
  batch: number[][],
  founderOf: (list: number[]) => string | undefined,
  given?: () => string,
): Promise<Map<number[], string>> {
  const lists = batch.filter((list) => founderOf(list) !== undefined);
  const out = new Map<number[], string>();
  if (given) {
    for (const list of lists) out.set(list, given());
    return out;
  }
  const ids = await assignDerivedIds(dataset, lists.map((list) => founderOf(list)!), async (candidates) => {
    const rows = await trx('golden_records').where(inValues(trx, 'master_id', candidates)).select('master_id');
    return new Set(rows.map((r) => r.master_id as string));
  });
  lists.forEach((list, i) => out.set(list, ids[i]!));
  return out;
}

function noteLargest(list: UnifySummary['largestClusters'], entry: UnifySummary['largestClusters'][number]) {
  if (entry.size < 2) return;
  list.push(entry);
  list.sort((a, b) => b.size - a.size || a.masterId.localeCompare(b.masterId));
  if (list.length > SAMPLE) list.pop();
}

/** Up to SAMPLE joins per rule, as `source:key` pairs a person can check. */
async function sampleJoins(
  trx: Knex.Transaction,
  name: string,
  joins: Clustered['joins'],
): Promise<UnifySummary['sampleJoins']> {
  const picked = new Map<string, Array<[number, number]>>();
  for (const join of joins) {
    const list = picked.get(join.via) ?? [];
    if (list.length < SAMPLE) list.push(join.records);
    picked.set(join.via, list);
  }
  const ids = [...picked.values()].flat(2);
  const rows = new Map((await loadRows(trx, ids)).map((r) => [r.id, `${r.source}:${r.recordKey}`]));
  const out: UnifySummary['sampleJoins'] = {};
  for (const [via, pairs] of [...picked.entries()].sort()) {
    out[via] = pairs.map(([a, b]) => [rows.get(a)!, rows.get(b)!]);
  }
  return out;
}

/** Rows looked at to find key columns that the data never has. */
const COLUMN_SAMPLE = 1000;

/**
 * A key or rule column that no staged record has is almost always a typo in the config; it
 * would silently stop that key from linking anything, so it is reported.
 */
async function missingColumns(trx: Knex.Transaction, dataset: DatasetConfig): Promise<string[]> {
  const rows = await trx('source_records')
    .whereIn('source', dataset.sources)
    .limit(COLUMN_SAMPLE)
    .select('source', 'payload');
  if (rows.length === 0) return [];
  // Columns as the engine sees them: after source-level recipes, which may derive new ones.
  const recipes = recipesOf.get(trx);
  const seen = new Set<string>();
  for (const row of rows) {
    const raw = JSON.parse(row.payload) as Record<string, string>;
    const values = recipes ? (recipes(row.source, raw) ?? raw) : raw;
    for (const column of Object.keys(values)) seen.add(column);
  }
  const warnings: string[] = [];
  for (const key of dataset.keys) {
    for (const column of key.columns) {
      if (!seen.has(column)) warnings.push(`key "${key.name}" uses column "${column}", which no staged record has`);
    }
  }
  return warnings;
}

async function countActive(trx: Knex.Transaction, name: string): Promise<number> {
  const row = await trx('golden_records').where({ dataset: name, status: 'active' }).count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

async function unchangedSummary(trx: Knex.Transaction, name: string): Promise<UnifySummary> {
  return {
    mode: 'unchanged',
    recordsChanged: 0,
    recordsUnified: 0,
    goldenRecords: await countActive(trx, name),
    created: 0,
    updated: 0,
    merged: 0,
    split: 0,
    retired: 0,
    ambiguous: 0,
    limitRefused: 0,
    lockRefused: 0,
    ambiguousRecords: [],
    largestClusters: [],
    sampleJoins: {},
    warnings: [],
  };
}
