import type { Knex } from 'knex';
import type { DatasetConfig } from '../config/schema';
import type { ClusterEvent } from '../domain/identity/cluster';
import { compileIdentity, type CompiledIdentity } from '../domain/identity/key-values';
import { UnionFind } from '../domain/union-find';
import { inValues } from '../store/bulk';
import { isPostgres } from '../store/db';
import * as store from '../store/identity';
import { compileSourceRecipes, type SourceRecipes } from '../domain/recipes/compile';
import { findAffected } from './affected';
import { assignDerivedIds } from './master-ids';
import { groupBy, groupByRoot, indexOfId, type Groups } from './groups';
import {
  keyRowsOf,
  rebuildIndex,
  threadsFor,
  valueMemoryBytes,
  type RebuildOptions,
  type RebuiltIndex,
} from './rebuild-index';
import { clustersOf, keptAsStaged, type BatchCluster, type BatchClusters } from './record-work';
import { startRecordWorker, type RecordWorker } from './record-worker';

/** Records loaded, clustered or written per step: bounds memory whatever the dataset size. */
const BATCH_RECORDS = 5000;
/**
 * Batches read and handed to the record worker ahead of the one being written. One, so the
 * record thread never holds two and clusters every batch: unlike the first pass, the second
 * keeps the unify's own thread busy with reads and writes (a deeper queue, with this thread
 * taking a batch when the record thread held two, made SQLite's second pass slower, and gave
 * PostgreSQL's nothing measurable).
 */
const BATCHES_AHEAD = 1;
/** Memberships per page when a rebuild reads the golden record each record had. */
const SCAN_PAGE = 20000;
/** How far before the last unify's newest staging time the next one looks for changes. */
const STAGING_MARGIN_MS = 15 * 60_000;
/** How many ambiguous records, largest clusters and sample joins a summary lists. */
const SAMPLE = 10;

export interface UnifyOptions extends RebuildOptions {
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
  /**
   * A full rebuild: how its records were joined, where their per-record work ran, and with a
   * record thread how many pages and batches the unify's own thread took on.
   */
  rebuild?: Pick<RebuiltIndex, 'joinedIn'> & { workedIn: RecordWorker['where']; doneHere: number };
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
  await store.refreshSourceStatistics(db);
  try {
    return await db.transaction(async (trx) => {
      // Two runs unifying one dataset at once (a worker and the webhook upsert) take turns.
      // SQLite serializes writers already; PostgreSQL needs the lock.
      if (isPostgres(db))
        await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`braid-unify:${name}`]);
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
  const state = await store.getIdentityState(trx, name);
  const full = options.mode === 'full' || state?.rulesHash !== identity.hash;
  // Started once the run knows how many records it works on (see threadsFor).
  const started: { worker?: RecordWorker } = {};
  const workerFor = (records: number) => {
    started.worker ??= startRecordWorker(
      { dataset, name, joinSample: SAMPLE },
      threadsFor(records, options),
    );
    return started.worker;
  };
  try {
    return await unifyWith(trx, name, dataset, options, { identity, state, full, workerFor });
  } finally {
    await started.worker?.close();
  }
}

interface UnifyPlan {
  identity: CompiledIdentity;
  state: store.IdentityState | undefined;
  full: boolean;
  /** The run's record worker, started on first use for a run over `records` records. */
  workerFor(records: number): RecordWorker;
}

async function unifyWith(
  trx: Knex.Transaction,
  name: string,
  dataset: DatasetConfig,
  options: UnifyOptions,
  { identity, state, full, workerFor }: UnifyPlan,
): Promise<UnifySummary> {
  const recipes = compileSourceRecipes(dataset, name);
  const beat = options.heartbeat ?? (() => undefined);
  // Taken before reading any change: whatever this run does not see lies at or above it.
  const changeMark = await store.changeSeqMark(trx);
  // The rules this run applied, and where the next run looks for changes.
  const saveState = (stagedUntilMs: number | null | undefined) =>
    store.setIdentityState(
      trx,
      name,
      dataset.sources,
      identity.hash,
      options.nowMs,
      stagedUntilMs,
      changeMark,
    );

  let affected: Int32Array;
  let components: UnionFind | undefined;
  let removed: number[] = [];
  let changedCount: number;
  let stagedUntilMs: number | null | undefined;
  let rebuild: UnifySummary['rebuild'];
  if (full) {
    const liveRecords = await store.countLiveRecords(trx, dataset.sources);
    const memory = {
      bytes: options.valueMemoryBytes ?? valueMemoryBytes(),
      liveRecords,
      pageRecords: options.pageRecords,
    };
    const worker = workerFor(liveRecords);
    const built = await rebuildIndex(trx, name, dataset, worker, beat, memory);
    ({ affected, components } = built);
    rebuild = { joinedIn: built.joinedIn, workedIn: worker.where, doneHere: 0 };
    changedCount = affected.length;
  } else {
    // The change sequence makes the read as large as the changes. Without one yet (the first
    // run after migration 010) the staging time is used, with a margin that covers clocks of
    // several workers that disagree and staging transactions that commit late.
    const since: store.ChangesSince =
      state?.changeSeqFrom !== null && state?.changeSeqFrom !== undefined
        ? { changeSeq: state.changeSeqFrom }
        : {
            stagedAtMs:
              state?.stagedUntilMs == null ? null : state.stagedUntilMs - STAGING_MARGIN_MS,
          };
    const changes = await store.listChangedRecords(trx, name, dataset.sources, since);
    if (changes.length === 0) {
      await saveState(state?.stagedUntilMs ?? null);
      return unchangedSummary(trx, name);
    }
    removed = changes.filter((c) => c.deleted).map((c) => c.id);
    const live = changes.filter((c) => !c.deleted).map((c) => c.id);
    // The values changed records were indexed under before: their old neighbours' clusters
    // may have depended on them (a refused merge, a limit), so those are re-clustered too.
    const before = await store.keysOfRecords(
      trx,
      name,
      changes.map((c) => c.id),
    );
    await store.deleteKeys(
      trx,
      name,
      changes.map((c) => c.id),
    );
    // Indexed by the same record work as a rebuild's first pass (in a thread when the changes
    // are many), so both index a record under the same entries.
    await indexRecords(trx, name, workerFor(live.length), await store.loadStagedRows(trx, live));
    const changed = changes.map((c) => c.id);
    affected = await findAffected(trx, name, { live, changed, removed: new Set(removed), before });
    changedCount = changes.length;
    stagedUntilMs = changes.reduce(
      (max, c) => Math.max(max, c.stagedAtMs),
      state?.stagedUntilMs ?? 0,
    );
  }
  beat({ phase: 'indexed', done: affected.length });

  components ??= await componentsByLookup(trx, name, affected);
  const previous = await previousGolden(trx, name, affected, full);
  const emptyTarget = full && (await store.hasNoGolden(trx, name));
  const written = await clusterAndWrite(
    {
      trx,
      name,
      worker: workerFor(affected.length),
      keptAsStaged: keptAsStaged(dataset),
      options,
      beat,
    },
    { affected, components, previous, removed, full, emptyTarget },
  );
  await saveState(stagedUntilMs);
  if (rebuild) rebuild.doneHere = workerFor(affected.length).doneHere;

  const goldenRecords = await countActive(trx, name);
  return {
    warnings: full ? await missingColumns(trx, dataset, recipes) : [],
    mode: full ? 'full' : 'incremental',
    recordsChanged: changedCount,
    recordsUnified: affected.length,
    goldenRecords,
    ...written,
    ...(rebuild ? { rebuild } : {}),
  };
}

/** Writes the index rows of the given records, as the record worker finds them. */
async function indexRecords(
  trx: Knex.Transaction,
  name: string,
  worker: RecordWorker,
  rows: store.StagedRow[],
): Promise<void> {
  if (rows.length > 0)
    await store.insertKeys(trx, name, keyRowsOf(rows, await worker.normalize(rows)));
}

async function componentsByLookup(
  trx: Knex.Transaction,
  name: string,
  affected: Int32Array,
): Promise<UnionFind> {
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
    // Paged in record order: a rebuild of a large dataset never holds its memberships as rows.
    await store.eachMemberPage(trx, name, SCAN_PAGE, (recordIds, goldenIds) => {
      recordIds.forEach((id, k) => {
        const index = indexOfId(affected, id);
        if (index >= 0) out[index] = goldenIds[k]!;
      });
    });
  } else {
    const map = await store.loadPreviousGolden(trx, name, Array.from(affected));
    affected.forEach((id, index) => {
      const golden = map.get(id);
      if (golden !== undefined) out[index] = golden;
    });
  }
  return out;
}

/**
 * Units of work: raw components joined with every other raw component holding a member of
 * the same former golden record. Everything that decides which cluster keeps a golden record
 * (and what becomes of the others) then lies inside one unit, so units are clustered and
 * written one batch at a time, each record read once.
 */
function unitsOf(components: UnionFind, previous: Int32Array): Groups {
  const units = components.clone();
  const byGolden = Int32Array.from(previous.keys()).filter((i) => previous[i]! >= 0);
  byGolden.sort((a, b) => previous[a]! - previous[b]! || a - b);
  for (let k = 1; k < byGolden.length; k++) {
    if (previous[byGolden[k]!] === previous[byGolden[k - 1]!])
      units.union(byGolden[k - 1]!, byGolden[k]!);
  }
  return groupByRoot(previous.length, (i) => units.find(i));
}

interface WriteContext {
  trx: Knex.Transaction;
  name: string;
  worker: RecordWorker;
  /** Sources whose records alone in a golden record are it as staged (see record-work.ts). */
  keptAsStaged: (source: string) => boolean;
  options: UnifyOptions;
  beat: NonNullable<UnifyOptions['heartbeat']>;
}

interface WriteInput {
  /** Record ids to re-cluster, ascending. */
  affected: Int32Array;
  /** Raw components: records sharing an index value, by index into `affected`. */
  components: UnionFind;
  /** Golden id each affected record had (-1: none). */
  previous: Int32Array;
  /** Records deleted at the source since the last run. */
  removed: number[];
  full: boolean;
  /** The dataset had no golden record before this run: no new master id can be taken yet. */
  emptyTarget: boolean;
}

type Written = Omit<
  UnifySummary,
  'mode' | 'recordsChanged' | 'recordsUnified' | 'goldenRecords' | 'warnings'
>;

/**
 * Clusters the affected records and writes golden records, memberships and the event log, a
 * batch of units at a time. An existing golden record stays with the cluster holding most of
 * its former members (so a split keeps the id on its larger part); a cluster granted several
 * keeps the oldest, and the others are recorded as merged into it.
 */
async function clusterAndWrite(ctx: WriteContext, input: WriteInput): Promise<Written> {
  const { trx, name, options } = ctx;
  const { affected, removed, full } = input;
  const removedGolden = [...(await store.loadPreviousGolden(trx, name, removed)).values()];
  await store.replaceMembers(trx, name, full ? 'all' : [...Array.from(affected), ...removed], []);
  const { order, starts } = unitsOf(input.components, input.previous);
  const unitCount = starts.length - 1;
  const unitAt = (u: number) => Array.from(order.subarray(starts[u]!, starts[u + 1]!));

  const totals = nothingWritten();
  const batchState: BatchState = {
    nextId: await store.maxGoldenId(trx),
    joins: [],
    joinsPerRule: new Map(),
  };
  const formerGolden = new Set<number>(removedGolden);
  const restoreGolden = input.emptyTarget
    ? await store.setGoldenIndexesAside(trx, name, affected.length)
    : null;
  // Only into an empty target, as above: dropping the key locks memberships against readers.
  const restoreMembers = input.emptyTarget ? await store.setMemberKeyAside(trx, name) : null;
  let done = 0;
  // Each batch is read and handed to the record worker before the one before it is written:
  // with a thread, one batch is clustered while the other is written.
  const ahead: SentBatch[] = [];
  for (let start = 0; start < unitCount;) {
    let end = start;
    let size = 0;
    const unitSize = (u: number) => starts[u + 1]! - starts[u]!;
    while (end < unitCount && (size === 0 || size + unitSize(end) <= BATCH_RECORDS)) {
      size += unitSize(end);
      end += 1;
    }
    const batch: number[][] = [];
    for (let u = start; u < end; u++) batch.push(unitAt(u));
    start = end;
    // An incremental run remembers the golden records it reached, to retire those left empty.
    if (!full)
      for (const unit of batch)
        for (const i of unit) if (input.previous[i]! >= 0) formerGolden.add(input.previous[i]!);
    ahead.push(await sendBatch(ctx, input, batch));
    if (ahead.length > BATCHES_AHEAD) {
      done += await writeBatch(ctx, input, ahead.shift()!, batchState, totals);
      ctx.beat({ phase: 'writing', done });
    }
  }
  for (const sent of ahead) done += await writeBatch(ctx, input, sent, batchState, totals);
  ctx.beat({ phase: 'writing', done });
  if (restoreGolden) await restoreGolden();
  if (restoreMembers) await restoreMembers();

  // After a rebuild PostgreSQL's statistics still describe the tables as they were (the key
  // index is analyzed when it is moved into place). Statistics of nearly empty tables turned
  // the retirement below into a nested loop over every membership for every golden record
  // (minutes at 300k); fresh ones also keep the next incremental run on its indexes.
  if (full && isPostgres(trx)) await trx.raw('ANALYZE identity_members, golden_records');
  // Former golden records that lost every member (deleted at the source or held back). A
  // rebuild answers for every golden record of the dataset, not only those it reached.
  // Into an empty target every golden record was made by this run, from its members.
  if (!input.emptyTarget) {
    totals.retired = await store.retireEmptyGolden(
      trx,
      name,
      full ? 'all' : [...formerGolden],
      options.nowMs,
    );
  }
  totals.sampleJoins = await sampleJoins(trx, batchState.joins);
  return totals;
}

/** Counts and samples of a unify that has written nothing yet. */
function nothingWritten(): Written {
  return {
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
  };
}

interface BatchState {
  nextId: number;
  /** A sample of the joins made, at most SAMPLE per rule. */
  joins: Array<{ via: string; records: [number, number] }>;
  joinsPerRule: Map<string, number>;
}

/** A batch handed to the record worker: what it was sent, and its clusters to come. */
interface SentBatch {
  /** The batch's records as read, by id. */
  rows: Map<number, store.StagedRow>;
  clustered: Promise<BatchClusters>;
}

/** Reads a batch of units' records and hands them to the record worker. */
async function sendBatch(
  ctx: WriteContext,
  input: WriteInput,
  batch: number[][],
): Promise<SentBatch> {
  const { affected } = input;
  const staged = await store.loadStagedRows(
    ctx.trx,
    batch.flatMap((unit) => unit.map((i) => affected[i]!)),
  );
  const positionOf = new Map(staged.map((row, at) => [row.id, at]));
  const components = batch.flatMap((unit) =>
    // Most units are one record: no grouping to do.
    unit.length === 1
      ? [[positionOf.get(affected[unit[0]!]!)!]]
      : groupBy(unit.length, (k) => input.components.find(unit[k]!)).map((component) =>
          component.map((k) => positionOf.get(affected[unit[k]!]!)!),
        ),
  );
  const payloads = staged.map((r) => r.payload);
  // The worker neither reads these nor sends them back: they are the golden attributes.
  for (const component of components) {
    if (component.length === 1 && ctx.keptAsStaged(staged[component[0]!]!.source))
      payloads[component[0]!] = '';
  }
  const clustered = ctx.worker.cluster({
    ids: staged.map((r) => r.id),
    sources: staged.map((r) => r.source),
    recordKeys: staged.map((r) => r.recordKey),
    payloads,
    recencies: staged.map((r) => r.recencyMs),
    components,
  });
  return { rows: new Map(staged.map((r) => [r.id, r])), clustered };
}

/**
 * Writes what the record worker found in a batch: golden records, memberships and events.
 * Returns the number of records written.
 */
async function writeBatch(
  ctx: WriteContext,
  input: WriteInput,
  sent: SentBatch,
  state: BatchState,
  totals: Written,
): Promise<number> {
  const { trx, name, options } = ctx;
  const { affected, previous } = input;
  const { rows } = sent;
  const found = await sent.clustered;
  const clusters = clustersOf(found, (id) => indexOfId(affected, id));
  const held = new Map<number, { candidates: number[]; rule: string }>();
  const refusals: ClusterEvent[] = [];
  for (const event of found.events) {
    if (event.kind === 'ambiguous')
      held.set(event.record, { candidates: event.candidates, rule: event.rule });
    else refusals.push(event);
    if (event.kind === 'limit_refused') totals.limitRefused += 1;
    if (event.kind === 'lock_refused') totals.lockRefused += 1;
  }
  // The first SAMPLE per rule in batch order, whichever thread clustered each batch.
  for (const join of found.joins) {
    const seen = state.joinsPerRule.get(join.via) ?? 0;
    if (seen < SAMPLE) state.joins.push(join);
    state.joinsPerRule.set(join.via, seen + 1);
  }

  // Which cluster each former golden record goes to: the one holding most of its members.
  const holdings = new Map<number, Map<number, number>>();
  clusters.forEach((cluster, c) => {
    for (const i of cluster.members) {
      const golden = previous[i]!;
      if (golden < 0) continue;
      const counts = holdings.get(golden) ?? new Map<number, number>();
      counts.set(c, (counts.get(c) ?? 0) + 1);
      holdings.set(golden, counts);
    }
  });
  const granted = new Map<number, number[]>();
  const splitFrom = new Map<number, number[]>();
  for (const [golden, counts] of holdings) {
    let winner = -1;
    let best = 0;
    // Clusters are in order of their first member: on a tie the earlier one wins.
    for (const [c, count] of counts)
      if (count > best || (count === best && c < winner)) [winner, best] = [c, count];
    granted.set(winner, [...(granted.get(winner) ?? []), golden]);
    for (const c of counts.keys())
      if (c !== winner) splitFrom.set(c, [...(splitFrom.get(c) ?? []), golden]);
  }

  const stored = await store.loadGoldenByIds(trx, [...holdings.keys()]);
  const fresh = clusters.filter((_, c) => !granted.has(c));
  const newIds = await newMasterIds(
    input.emptyTarget ? null : trx,
    name,
    fresh,
    options.newMasterId,
  );

  const inserts: store.GoldenRow[] = [];
  const updates: store.GoldenRow[] = [];
  const memberRows: store.MemberRow[] = [];
  const events: store.IdentityEvent[] = [];
  const masterOfRecord = new Map<number, string>();
  const merges: Array<{ id: number; into: string }> = [];
  clusters.forEach((cluster, c) => {
    const records = cluster.members.map((i) => rows.get(affected[i]!)!);
    const grants = (granted.get(c) ?? []).sort((a, b) => a - b);
    const keep = grants[0];
    const row: store.GoldenRow = {
      id: keep ?? ++state.nextId,
      masterId: keep !== undefined ? stored.get(keep)!.masterId : newIds.get(cluster)!,
      attributes: cluster.attributes ?? records[0]!.payload,
      sourceKeys: cluster.sourceKeys,
      // As the record worker wrote it: the same JSON, not decoded and written again.
      linkedBy: found.linkedBy[c]!,
      memberCount: records.length,
    };
    if (keep === undefined) {
      inserts.push(row);
      totals.created += 1;
    } else {
      const before = stored.get(keep)!;
      const same =
        before.status === 'active' &&
        before.attributes === row.attributes &&
        before.sourceKeys === row.sourceKeys &&
        before.linkedBy === row.linkedBy;
      if (!same) {
        updates.push(row);
        totals.updated += 1;
      }
    }
    const rule = cluster.linkedBy.join(',') || 'rebuild';
    for (const other of grants.slice(1)) {
      merges.push({ id: other, into: row.masterId });
      events.push({
        kind: 'merge',
        masterId: row.masterId,
        otherMasterId: stored.get(other)!.masterId,
        rule,
      });
      totals.merged += 1;
    }
    for (const record of records) {
      memberRows.push({ recordId: record.id, goldenId: row.id, contentHash: record.contentHash });
      masterOfRecord.set(record.id, row.masterId);
    }
    noteLargest(totals.largestClusters, {
      masterId: row.masterId,
      size: records.length,
      linkedBy: cluster.linkedBy,
    });
  });
  // Splits: the smaller parts of a former golden record, now golden records of their own.
  for (const [c, goldens] of splitFrom) {
    const masterId = masterOfRecord.get(affected[clusters[c]!.members[0]!]!)!;
    for (const golden of goldens) {
      events.push({
        kind: 'split',
        masterId,
        otherMasterId: stored.get(golden)!.masterId,
        rule: 'no longer linked',
      });
      totals.split += 1;
    }
  }

  // Held records: membership without a golden record, listed with the clusters they could join.
  for (const [record, { candidates: ids, rule }] of held) {
    const row = rows.get(record)!;
    memberRows.push({ recordId: record, goldenId: null, contentHash: row.contentHash });
    const candidates = ids.map((id) => masterOfRecord.get(id) ?? '');
    const label = `${row.source}:${row.recordKey}`;
    if (totals.ambiguousRecords.length < SAMPLE)
      totals.ambiguousRecords.push({ record: label, candidates });
    totals.ambiguous += 1;
    events.push({
      kind: 'ambiguous',
      masterId: '',
      otherMasterId: candidates.join(',').slice(0, 64),
      rule,
      detail: { record: label, candidates },
    });
  }
  for (const event of refusals) {
    events.push({
      kind: event.kind as store.IdentityEvent['kind'],
      masterId: '',
      otherMasterId: '',
      rule: event.rule,
      detail: event,
    });
  }

  await store.insertGolden(trx, name, inserts, options.nowMs);
  await store.updateGolden(trx, updates, options.nowMs);
  for (const merge of merges) await store.retireGolden(trx, merge.id, merge.into, options.nowMs);
  // Memberships go straight in: batches come in order of their smallest record and golden ids
  // grow with them, so these inserts already land near the end of both indexes.
  await store.replaceMembers(trx, name, [], memberRows);
  await store.insertEvents(trx, name, options.runId, events, options.nowMs);
  return rows.size;
}

/**
 * Master ids for the clusters that need a new one: derived from the data (each cluster's
 * founder, first attempt already derived), or from `given` (tests) in cluster order. `trx`
 * null: the dataset had no golden record when the run began, so no derived id can be taken (it
 * hashes the dataset's name, and founders are distinct records) and the lookup for each batch
 * is skipped; the unique index still guards.
 */
async function newMasterIds<T extends Pick<BatchCluster, 'founder' | 'derivedId'>>(
  trx: Knex.Transaction | null,
  dataset: string,
  fresh: T[],
  given?: () => string,
): Promise<Map<T, string>> {
  const out = new Map<T, string>();
  if (given) {
    for (const cluster of fresh) out.set(cluster, given());
    return out;
  }
  const taken = async (candidates: string[]) => {
    if (trx === null) return new Set<string>();
    const rows = await trx('golden_records')
      .where(inValues(trx, 'master_id', candidates))
      .select('master_id');
    return new Set(rows.map((r) => r.master_id as string));
  };
  const founders = fresh.map((c) => c.founder);
  const ids = await assignDerivedIds(
    dataset,
    founders,
    taken,
    fresh.map((c) => c.derivedId),
  );
  fresh.forEach((cluster, i) => out.set(cluster, ids[i]!));
  return out;
}

function noteLargest(
  list: UnifySummary['largestClusters'],
  entry: UnifySummary['largestClusters'][number],
) {
  if (entry.size < 2) return;
  // Most clusters would land past a full list: only those that enter it are sorted in.
  if (list.length >= SAMPLE && largestFirst(entry, list[list.length - 1]!) >= 0) return;
  list.push(entry);
  list.sort(largestFirst);
  if (list.length > SAMPLE) list.pop();
}

function largestFirst(
  a: { size: number; masterId: string },
  b: { size: number; masterId: string },
): number {
  return b.size - a.size || a.masterId.localeCompare(b.masterId);
}

/** Up to SAMPLE joins per rule, as `source:key` pairs a person can check. */
async function sampleJoins(
  trx: Knex.Transaction,
  joins: BatchState['joins'],
): Promise<UnifySummary['sampleJoins']> {
  const picked = new Map<string, Array<[number, number]>>();
  for (const join of joins) {
    const list = picked.get(join.via) ?? [];
    if (list.length < SAMPLE) list.push(join.records);
    picked.set(join.via, list);
  }
  const ids = [...picked.values()].flat(2);
  const rows = new Map(
    (await store.loadStagedRows(trx, ids)).map((r) => [r.id, `${r.source}:${r.recordKey}`]),
  );
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
async function missingColumns(
  trx: Knex.Transaction,
  dataset: DatasetConfig,
  recipes: SourceRecipes,
): Promise<string[]> {
  const rows = await trx('source_records')
    .whereIn('source', dataset.sources)
    .limit(COLUMN_SAMPLE)
    .select('source', 'payload');
  if (rows.length === 0) return [];
  // Columns as the engine sees them: after source-level recipes, which may derive new ones.
  const seen = new Set<string>();
  for (const row of rows) {
    const raw = JSON.parse(row.payload) as Record<string, string>;
    const values = recipes(row.source, raw) ?? raw;
    for (const column of Object.keys(values)) seen.add(column);
  }
  const warnings: string[] = [];
  for (const key of dataset.keys) {
    for (const column of key.columns) {
      if (!seen.has(column))
        warnings.push(`key "${key.name}" uses column "${column}", which no staged record has`);
    }
  }
  return warnings;
}

async function countActive(trx: Knex.Transaction, name: string): Promise<number> {
  const row = await trx('golden_records')
    .where({ dataset: name, status: 'active' })
    .count({ n: '*' })
    .first();
  return Number(row?.n ?? 0);
}

async function unchangedSummary(trx: Knex.Transaction, name: string): Promise<UnifySummary> {
  return {
    mode: 'unchanged',
    recordsChanged: 0,
    recordsUnified: 0,
    goldenRecords: await countActive(trx, name),
    ...nothingWritten(),
    warnings: [],
  };
}
