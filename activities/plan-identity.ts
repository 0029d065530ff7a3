import { log } from '@temporalio/activity';
import type { Knex } from 'knex';
import { resolveSync } from '../config/load';
import { MAX_DELETE_IDS_PER_REQUEST, MAX_MERGES_PER_REQUEST } from '../connectors/braze/limits';
import { changedAttributes, chunk, type AttributeValue } from '../domain/diff';
import {
  writeIdentityOutbox,
  type DeleteItem,
  type DestinationRow,
  type MergeItem,
  type OutboxItem,
  type RenameItem,
} from '../store/delivery';
import type { ActivityDeps } from './deps';

export interface PlanIdentityInput {
  runId: string;
  syncId: string;
}

/** A golden record Braze holds a profile for that is no longer active, with its fate. */
type Departed = {
  masterId: string;
  externalId: string;
  finalMasterId: string;
  finalStatus: string;
};

/** Longest merged_into chain followed; a longer one means a cycle, and the record is left. */
const MAX_CHAIN = 64;

/**
 * Plans the identity changes of a run as outbox batches after its attribute updates: profiles
 * of golden records merged into another become `/users/merge` batches (into the surviving
 * master, following chains of merges), and profiles of retired golden records become
 * `/users/delete` batches, each at most 50 per request. Only masters the destination holds
 * (a destination-state row for this sync) are considered, so nothing is merged or deleted
 * that Braze never received. A kept master that Braze does not hold yet must be in this run's
 * attribute batches, which come first and create its profile; otherwise the merge waits for a
 * later run. `onMerge: keep` and `onDelete: keep` plan nothing of that kind. Planning twice
 * for a run keeps the first plan. Returns the number of merge and delete batches.
 */
export async function planIdentityChanges(
  deps: ActivityDeps,
  input: PlanIdentityInput,
): Promise<number> {
  const { sync, destination } = resolveSync(deps.config, input.syncId);
  const departed = await loadDeparted(deps.db, input.syncId, sync.dataset);

  const merges: MergeItem[] = [];
  const deletes: DeleteItem[] = [];
  const merging = destination.onMerge === 'merge';
  const pending = departed.filter((d) => d.finalStatus === 'active' && merging);
  const keepIds = await keptExternalIds(
    deps.db,
    input,
    pending.map((d) => d.finalMasterId),
  );
  let waiting = 0;
  for (const d of departed) {
    if (d.finalStatus === 'retired' && destination.onDelete === 'delete') {
      deletes.push({ masterId: d.masterId, externalId: d.externalId });
    }
    if (d.finalStatus !== 'active' || destination.onMerge !== 'merge') continue;
    const keepExternalId = keepIds.get(d.finalMasterId);
    if (keepExternalId === undefined) {
      waiting += 1;
    } else {
      merges.push({
        masterId: d.masterId,
        externalId: d.externalId,
        keepMasterId: d.finalMasterId,
        keepExternalId,
      });
    }
  }

  const size = (limit: number) => Math.min(limit, destination.batchSize);
  const ids = { runId: input.runId, syncId: input.syncId };
  const mergeBatches = await writeIdentityOutbox(deps.db, {
    ...ids,
    kind: 'merge',
    batches: chunk(merges, size(MAX_MERGES_PER_REQUEST)),
  });
  const deleteBatches = await writeIdentityOutbox(deps.db, {
    ...ids,
    kind: 'delete',
    batches: chunk(deletes, size(MAX_DELETE_IDS_PER_REQUEST)),
  });
  log.info('Identity changes planned', {
    syncId: input.syncId,
    mergeCount: merges.length,
    deleteCount: deletes.length,
    waitingCount: waiting,
    batchCount: mergeBatches + deleteBatches,
  });
  return mergeBatches + deleteBatches;
}

/** Masters with a destination-state row whose golden record is merged or retired. */
async function loadDeparted(db: Knex, syncId: string, dataset: string): Promise<Departed[]> {
  const rows = await db('destination_state as d')
    .join('golden_records as g', 'g.master_id', 'd.master_id')
    .where({ 'd.sync_id': syncId, 'g.dataset': dataset })
    .whereIn('g.status', ['merged', 'retired'])
    .orderBy('g.id')
    .select('d.master_id', 'd.external_id', 'g.status', 'g.merged_into');
  const fates = await followMerges(
    db,
    rows.filter((r) => r.status === 'merged' && r.merged_into).map((r) => r.merged_into as string),
  );
  return rows.flatMap((r) => {
    const fate =
      r.status === 'merged'
        ? fates.get(r.merged_into)
        : { masterId: r.master_id, status: r.status };
    if (fate === undefined) return [];
    const final = { finalMasterId: fate.masterId, finalStatus: fate.status };
    return [{ masterId: r.master_id, externalId: r.external_id, ...final }];
  });
}

/**
 * Where each of these masters ended up: itself when it is not merged, else the end of its
 * merged_into chain, with that record's status. Masters with no golden record, or in a cycle,
 * are left out.
 */
async function followMerges(
  db: Knex,
  masterIds: string[],
): Promise<Map<string, { masterId: string; status: string }>> {
  const golden = new Map<string, { status: string; mergedInto: string | null }>();
  let wanted = [...new Set(masterIds)];
  for (let hop = 0; hop < MAX_CHAIN && wanted.length > 0; hop += 1) {
    const next: string[] = [];
    for (let i = 0; i < wanted.length; i += 500) {
      const rows = await db('golden_records')
        .whereIn('master_id', wanted.slice(i, i + 500))
        .select('master_id', 'status', 'merged_into');
      for (const row of rows) {
        golden.set(row.master_id, { status: row.status, mergedInto: row.merged_into });
        const onward = row.status === 'merged' ? row.merged_into : null;
        if (onward && !golden.has(onward)) next.push(onward);
      }
    }
    wanted = [...new Set(next)];
  }

  const out = new Map<string, { masterId: string; status: string }>();
  for (const start of new Set(masterIds)) {
    let current = start;
    for (let hop = 0; hop < MAX_CHAIN; hop += 1) {
      const record = golden.get(current);
      if (record === undefined) break;
      if (record.status !== 'merged' || !record.mergedInto) {
        out.set(start, { masterId: current, status: record.status });
        break;
      }
      current = record.mergedInto;
    }
  }
  return out;
}

/**
 * The external id each kept master has or is about to get in Braze: the one it was last
 * accepted under, else the one this run's attribute batches send it under.
 */
async function keptExternalIds(
  db: Knex,
  input: PlanIdentityInput,
  keepMasterIds: string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const wanted = new Set(keepMasterIds);
  if (wanted.size === 0) return out;
  const unique = [...wanted];
  for (let i = 0; i < unique.length; i += 500) {
    const rows = await db('destination_state')
      .where({ sync_id: input.syncId })
      .whereIn('master_id', unique.slice(i, i + 500))
      .select('master_id', 'external_id');
    for (const row of rows) out.set(row.master_id, row.external_id);
  }
  if (out.size === wanted.size) return out;

  const batches = await db('outbox').where({ run_id: input.runId, kind: 'track' }).select('items');
  for (const batch of batches) {
    for (const item of JSON.parse(batch.items) as Array<{ masterId: string; externalId: string }>) {
      if (!wanted.has(item.masterId) || out.has(item.masterId)) continue;
      out.set(item.masterId, item.externalId);
    }
  }
  return out;
}

/** A golden record as planning sends it: under `externalId`, with every attribute typed. */
export interface PlannedRecord {
  masterId: string;
  externalId: string;
  attributes: Record<string, AttributeValue>;
}

/**
 * What `planUpdates` decided: attribute updates, the renames to send before them, and who waits.
 */
export interface PlannedUpdates {
  items: OutboxItem[];
  renames: RenameItem[];
  /** Records not sent: their external id is another master's Braze profile (`holder`). */
  blocked: Array<{ masterId: string; holder: string }>;
}

/**
 * Diffs each active golden record against what Braze last accepted for it, and plans a rename
 * for a master whose external id changed (an identifier other than `master_id` whose value
 * survivorship, an edit or a recipe changed). The renamed profile keeps its history and gets
 * only the changed attributes, sent after the rename.
 *
 * One external id is one Braze profile, so one master sends to it: the master Braze already
 * holds under it, else the first (oldest) that plans it. Another master that plans the same id,
 * or an id another master's profile has (in the state, or as the deprecated id a rename left,
 * `aliases`), is not sent at all: sending it would mix two people's values on one profile, and
 * the state could no longer say what Braze holds. It waits, reported, until its id is its own.
 *
 * No rename is planned, and the new id gets every attribute while the old profile is left as
 * it is, when `onRename` is `keep`, or another active master shares the old id (renaming would
 * take its profile away). Masters that are merged or retired are leaving, so their holding an
 * old id does not block a rename.
 */
export function planUpdates(
  records: PlannedRecord[],
  state: ReadonlyMap<string, DestinationRow>,
  onRename: 'rename' | 'keep',
  aliases: ReadonlyMap<string, string> = new Map(),
): PlannedUpdates {
  const active = new Set(records.map((r) => r.masterId));
  const holders = new Map<string, string[]>();
  for (const [masterId, row] of state) {
    holders.set(row.externalId, [...(holders.get(row.externalId) ?? []), masterId]);
  }
  const heldByAnother = (externalId: string, masterId: string) =>
    (holders.get(externalId) ?? []).some((m) => m !== masterId && active.has(m));
  // Another master whose Braze profile answers to the id: holding it, or having renamed away
  // from it while its profile still exists (it has a state row).
  const profileOf = (externalId: string, masterId: string): string | undefined => {
    const holder = (holders.get(externalId) ?? []).find((m) => m !== masterId);
    if (holder !== undefined) return holder;
    const renamed = aliases.get(externalId);
    return renamed !== undefined && renamed !== masterId && state.has(renamed)
      ? renamed
      : undefined;
  };

  // The incumbents first: a master Braze holds under an id it still plans keeps that id.
  const sender = new Map<string, string>();
  for (const record of records) {
    if (
      state.get(record.masterId)?.externalId === record.externalId &&
      !sender.has(record.externalId)
    ) {
      sender.set(record.externalId, record.masterId);
    }
  }

  const out: PlannedUpdates = { items: [], renames: [], blocked: [] };
  for (const record of records) {
    const to = record.externalId;
    const sent = state.get(record.masterId);
    const owner = sender.get(to) ?? profileOf(to, record.masterId);
    if (owner !== undefined && owner !== record.masterId) {
      out.blocked.push({ masterId: record.masterId, holder: owner });
      continue;
    }
    sender.set(to, record.masterId);
    if (sent === undefined || sent.externalId === to) {
      const changed = changedAttributes(record.attributes, sent?.attributes);
      if (Object.keys(changed).length > 0) out.items.push({ ...record, attributes: changed });
      continue;
    }
    const from = sent.externalId;
    const full = changedAttributes(record.attributes, undefined);
    if (onRename === 'rename' && !heldByAnother(from, record.masterId)) {
      out.renames.push({ masterId: record.masterId, from, to });
      // Kept even when nothing else changed: if Braze refuses the rename, it sends `full`.
      const changed = changedAttributes(record.attributes, sent.attributes);
      out.items.push({ masterId: record.masterId, externalId: to, attributes: changed, full });
    } else {
      out.items.push({ masterId: record.masterId, externalId: to, attributes: full, full });
    }
  }
  return out;
}
