import type { Knex } from 'knex';
import type { AttributeValue } from '../domain/diff';
import type { EventItem } from './event-delivery';
import { recordRowErrors, type RowError } from './runs';

/** One profile update planned for the destination. */
export interface OutboxItem {
  masterId: string;
  externalId: string;
  attributes: Record<string, AttributeValue>;
  /**
   * Set when the master's external id changed: every attribute it has. Delivery sends
   * `attributes` (a diff) only if the destination state shows the profile under `externalId`
   * by then (a rename went through); otherwise it sends `full` and the state is replaced, so a
   * new profile never gets a diff made against another one.
   */
  full?: Record<string, AttributeValue>;
}

/** A profile to rename from the external id Braze holds it under to the one planned now. */
export interface RenameItem {
  masterId: string;
  from: string;
  to: string;
}

/** A merged-away master's profile to merge into the kept master's profile. */
export interface MergeItem {
  masterId: string;
  externalId: string;
  keepMasterId: string;
  /** The kept profile's external id as planned; delivery prefers the one Braze last accepted. */
  keepExternalId: string;
}

/** A retired master's profile to delete. */
export interface DeleteItem {
  masterId: string;
  externalId: string;
}

/**
 * Identity changes planned as outbox batches of their own: merges and deletes after the
 * attribute updates (writeIdentityOutbox), renames before them (writeOutbox).
 */
export type IdentityKind = 'merge' | 'delete';

/**
 * One pending outbox batch. Attribute-update (`/users/track`) batches carry no `kind`, as they
 * did before kinds existed; merge and delete batches name theirs.
 */
export type OutboxBatch =
  | { kind?: undefined; batchNo: number; items: OutboxItem[]; attempts: number }
  | { kind: 'merge'; batchNo: number; items: MergeItem[]; attempts: number }
  | { kind: 'delete'; batchNo: number; items: DeleteItem[]; attempts: number }
  | { kind: 'rename'; batchNo: number; items: RenameItem[]; attempts: number }
  | { kind: 'events'; batchNo: number; items: EventItem[]; attempts: number };

/** What the destination last accepted, per golden record, for one sync. */
export async function loadDestinationState(
  db: Knex,
  syncId: string,
): Promise<Map<string, Record<string, AttributeValue>>> {
  const rows = await db('destination_state')
    .where({ sync_id: syncId })
    .select('master_id', 'attributes');
  return new Map(rows.map((r) => [r.master_id as string, JSON.parse(r.attributes)]));
}

/** What the destination last accepted per golden record: its external id and attributes. */
export interface DestinationRow {
  externalId: string;
  attributes: Record<string, AttributeValue>;
}

/** Every destination-state row of one sync, by master id. */
export async function loadDestinationRows(
  db: Knex,
  syncId: string,
): Promise<Map<string, DestinationRow>> {
  const rows = await db('destination_state')
    .where({ sync_id: syncId })
    .select('master_id', 'external_id', 'attributes');
  return new Map(
    rows.map((r) => [
      r.master_id as string,
      { externalId: r.external_id as string, attributes: JSON.parse(r.attributes) },
    ]),
  );
}

/**
 * External ids renamed away from, per sync: id → the master whose profile still answers to it.
 */
export async function loadDestinationAliases(
  db: Knex,
  syncId: string,
): Promise<Map<string, string>> {
  const rows = await db('destination_aliases')
    .where({ sync_id: syncId })
    .select('external_id', 'master_id');
  return new Map(rows.map((r) => [r.external_id as string, r.master_id as string]));
}

/**
 * The external id each of these masters was last accepted under by the destination, for the
 * masters that have a destination-state row (Braze holds their profile).
 */
export async function loadSentExternalIds(
  db: Knex,
  syncId: string,
  masterIds: string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const unique = [...new Set(masterIds)];
  for (let i = 0; i < unique.length; i += 500) {
    const rows = await db('destination_state')
      .where({ sync_id: syncId })
      .whereIn('master_id', unique.slice(i, i + 500))
      .select('master_id', 'external_id');
    for (const row of rows) out.set(row.master_id, row.external_id);
  }
  return out;
}

/**
 * Those of `externalIds` that a master outside `leaving` still holds in the destination state.
 * With an identifier other than `master_id` two golden records can share one Braze profile,
 * and merging or deleting it away would take the other record's profile with it.
 */
export async function externalIdsHeldByOthers(
  db: Knex,
  syncId: string,
  externalIds: string[],
  leaving: string[],
): Promise<Set<string>> {
  const held = new Set<string>();
  const away = new Set(leaving);
  const unique = [...new Set(externalIds)];
  for (let i = 0; i < unique.length; i += 500) {
    const rows = await db('destination_state')
      .where({ sync_id: syncId })
      .whereIn('external_id', unique.slice(i, i + 500))
      .select('master_id', 'external_id');
    for (const row of rows) if (!away.has(row.master_id)) held.add(row.external_id);
  }
  return held;
}

/**
 * Stores a run's rename batches, numbered from 1, then its attribute batches after them, so
 * each profile is renamed before its attribute update is sent to the new id. Planning twice for
 * the same run (a retried activity) keeps the first plan, so batches are never doubled.
 * Returns the number of rename and attribute batches the run has.
 */
export async function writeOutbox(
  db: Knex,
  runId: string,
  syncId: string,
  batches: OutboxItem[][],
  renames: RenameItem[][] = [],
): Promise<number> {
  return db.transaction(async (trx) => {
    // Any batch of the run means it was planned; merges, deletes and events are counted apart.
    const existing = await trx('outbox')
      .where({ run_id: runId })
      .select(trx.raw("sum(case when kind in ('track', 'rename') then 1 else 0 end) as planned"))
      .count<{ n: number; planned: number | null }[]>({ n: '*' });
    if (Number(existing[0]?.n ?? 0) > 0) return Number(existing[0]?.planned ?? 0);
    const common = { run_id: runId, sync_id: syncId, status: 'planned', attempts: 0 };
    const rows = [
      ...renames.map((items) => ({
        ...common,
        kind: 'rename',
        items: JSON.stringify(items),
        item_count: items.length,
        attribute_count: 0,
      })),
      ...batches.map((items) => ({
        ...common,
        kind: 'track',
        items: JSON.stringify(items),
        item_count: items.length,
        attribute_count: items.reduce((n, item) => n + Object.keys(item.attributes).length, 0),
      })),
    ].map((row, i) => ({ ...row, batch_no: i + 1 }));
    for (let i = 0; i < rows.length; i += 200) await trx('outbox').insert(rows.slice(i, i + 200));
    return rows.length;
  });
}

/**
 * Appends a run's merge or delete batches after every batch already planned for it, so
 * delivery sends them after the attribute updates (and deletes after merges when called in
 * that order). Planning the same kind twice for a run keeps the first plan. Returns the number
 * of batches of this kind the run has.
 */
export async function writeIdentityOutbox(
  db: Knex,
  input: {
    runId: string;
    syncId: string;
    kind: IdentityKind;
    batches: Array<MergeItem[] | DeleteItem[]>;
  },
): Promise<number> {
  return db.transaction(async (trx) => {
    const existing = await trx('outbox')
      .where({ run_id: input.runId, kind: input.kind })
      .count<{ n: number }[]>({ n: '*' });
    const already = Number(existing[0]?.n ?? 0);
    if (already > 0) return already;
    return appendOutboxBatches(trx, { ...input, batches: input.batches as unknown[][] });
  });
}

/**
 * Writes batches of one kind after every batch the run already has, numbered on from the
 * highest. Callers run it in the transaction that decides whether to plan them.
 */
export async function appendOutboxBatches(
  trx: Knex.Transaction,
  input: { runId: string; syncId: string; kind: string; batches: unknown[][] },
): Promise<number> {
  const last = await trx('outbox')
    .where({ run_id: input.runId })
    .max<{ n: number | null }[]>({ n: 'batch_no' });
  const after = Number(last[0]?.n ?? 0);
  const rows = input.batches.map((items, i) => ({
    run_id: input.runId,
    batch_no: after + i + 1,
    sync_id: input.syncId,
    kind: input.kind,
    status: 'planned',
    items: JSON.stringify(items),
    item_count: items.length,
    attribute_count: 0,
    attempts: 0,
  }));
  for (let i = 0; i < rows.length; i += 200) await trx('outbox').insert(rows.slice(i, i + 200));
  return rows.length;
}

/** The lowest-numbered batch of the run, of any kind, that Braze has not acknowledged yet. */
export async function nextPendingBatch(db: Knex, runId: string): Promise<OutboxBatch | undefined> {
  const row = await db('outbox')
    .where({ run_id: runId })
    .whereIn('status', ['planned', 'sending'])
    .orderBy('batch_no')
    .first('batch_no', 'items', 'attempts', 'kind');
  if (!row) return undefined;
  const common = { batchNo: Number(row.batch_no), attempts: Number(row.attempts) };
  if (['merge', 'delete', 'events', 'rename'].includes(row.kind)) {
    return { kind: row.kind, ...common, items: JSON.parse(row.items) };
  }
  return { batchNo: common.batchNo, items: JSON.parse(row.items), attempts: common.attempts };
}

/** Notes that a batch is about to be sent, so the report counts resent requests honestly. */
export async function markSending(db: Knex, runId: string, batchNo: number): Promise<void> {
  await db('outbox')
    .where({ run_id: runId, batch_no: batchNo })
    .update({ status: 'sending', attempts: db.raw('attempts + 1') });
}

/** An attribute update as sent; `replace` when it carried every attribute of a new profile. */
export type SentItem = OutboxItem & { replace?: boolean };

/**
 * Records Braze's answer to a batch in one transaction: the batch is done, accepted items move
 * the last-sent state forward (a null removes the attribute from it; a `replace` item's
 * attributes become the whole state), rejected items become row errors and leave the state
 * alone so the next run tries them again. `attributeCount`, when given, is what was sent (it
 * differs from the plan when a failed rename turned a diff into a full send).
 */
export async function completeBatch(
  db: Knex,
  input: {
    runId: string;
    syncId: string;
    batchNo: number;
    accepted: SentItem[];
    rejected: Array<{ item: OutboxItem; reason: string }>;
    nowMs: number;
    attributeCount?: number;
  },
): Promise<void> {
  await db.transaction(async (trx) => {
    const ids = input.accepted.map((item) => item.masterId);
    const current = new Map<string, Record<string, AttributeValue>>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await trx('destination_state')
        .where({ sync_id: input.syncId })
        .whereIn('master_id', ids.slice(i, i + 500))
        .select('master_id', 'attributes');
      for (const row of rows) current.set(row.master_id, JSON.parse(row.attributes));
    }

    const rows = input.accepted.map((item) => {
      const state = item.replace ? {} : { ...(current.get(item.masterId) ?? {}) };
      for (const [name, value] of Object.entries(item.attributes)) {
        if (value === null) delete state[name];
        else state[name] = value;
      }
      return {
        sync_id: input.syncId,
        master_id: item.masterId,
        external_id: item.externalId,
        attributes: JSON.stringify(state),
        created_at_ms: input.nowMs,
        last_sent_at_ms: input.nowMs,
      };
    });
    if (rows.length > 0) {
      await trx('destination_state')
        .insert(rows)
        .onConflict(['sync_id', 'master_id'])
        .merge(['attributes', 'last_sent_at_ms', 'external_id']);
    }

    const errors: RowError[] = input.rejected.map(({ item, reason }) => ({
      stage: 'deliver',
      recordKey: item.masterId,
      reason,
    }));
    await recordRowErrors(trx, input.runId, errors);
    const counted =
      input.attributeCount === undefined ? {} : { attribute_count: input.attributeCount };
    await trx('outbox')
      .where({ run_id: input.runId, batch_no: input.batchNo })
      .update({
        status: 'sent',
        sent_at_ms: input.nowMs,
        rejected_count: input.rejected.length,
        ...counted,
      });
  });
}

/**
 * Records Braze's success answer to a merge batch in one transaction. For each merged item the
 * merged-away master's state row is removed and what it held that the kept row lacks is folded
 * into the kept row, because Braze moves those attributes onto the kept profile; the next run's
 * diff then unsets any the golden record does not have. Deferred items (their kept profile is
 * not in Braze yet) become row errors and keep their state, so the next run plans them again.
 */
export async function completeMergeBatch(
  db: Knex,
  input: {
    runId: string;
    syncId: string;
    batchNo: number;
    merged: MergeItem[];
    deferred: Array<{ item: MergeItem; reason: string }>;
    nowMs: number;
  },
): Promise<void> {
  await db.transaction(async (trx) => {
    for (const item of input.merged) {
      const key = { sync_id: input.syncId, master_id: item.masterId };
      const gone = await trx('destination_state').where(key).first('attributes');
      const keptKey = { sync_id: input.syncId, master_id: item.keepMasterId };
      const kept = await trx('destination_state').where(keptKey).first('attributes');
      if (gone && kept) {
        const attributes = { ...JSON.parse(gone.attributes), ...JSON.parse(kept.attributes) };
        await trx('destination_state')
          .where(keptKey)
          .update({ attributes: JSON.stringify(attributes), last_sent_at_ms: input.nowMs });
      }
      await trx('destination_state').where(key).delete();
    }
    await finishIdentityBatch(trx, input.runId, input.batchNo, input.deferred, input.nowMs);
  });
}

/**
 * Records Braze's success answer to a delete batch: the deleted masters' state rows are
 * removed, so a golden record that comes back later is sent as a new profile.
 */
export async function completeDeleteBatch(
  db: Knex,
  input: { runId: string; syncId: string; batchNo: number; deleted: DeleteItem[]; nowMs: number },
): Promise<void> {
  await db.transaction(async (trx) => {
    const ids = input.deleted.map((item) => item.masterId);
    for (let i = 0; i < ids.length; i += 500) {
      await trx('destination_state')
        .where({ sync_id: input.syncId })
        .whereIn('master_id', ids.slice(i, i + 500))
        .delete();
    }
    await finishIdentityBatch(trx, input.runId, input.batchNo, [], input.nowMs);
  });
}

/**
 * Records Braze's answer to a rename batch in one transaction: a renamed master's state row
 * now carries the new external id (its attributes are the renamed profile's, so the following
 * attribute update stays a diff); a refused master's row is removed, so that update sends
 * every attribute to the new id and the old profile is left as it is. Refusals become row
 * errors naming the master.
 */
export async function completeRenameBatch(
  db: Knex,
  input: {
    runId: string;
    syncId: string;
    batchNo: number;
    renamed: RenameItem[];
    refused: Array<{ item: RenameItem; reason: string }>;
    nowMs: number;
  },
): Promise<void> {
  await db.transaction(async (trx) => {
    for (const item of input.renamed) {
      await trx('destination_state')
        .where({ sync_id: input.syncId, master_id: item.masterId })
        .update({ external_id: item.to, last_sent_at_ms: input.nowMs });
      // Braze still resolves the old id to this profile (see migration 014).
      await trx('destination_aliases')
        .insert({
          sync_id: input.syncId,
          external_id: item.from,
          master_id: item.masterId,
          renamed_at_ms: input.nowMs,
        })
        .onConflict(['sync_id', 'external_id'])
        .merge(['master_id', 'renamed_at_ms']);
    }
    const reset = input.refused.map(({ item }) => item.masterId);
    for (let i = 0; i < reset.length; i += 500) {
      await trx('destination_state')
        .where({ sync_id: input.syncId })
        .whereIn('master_id', reset.slice(i, i + 500))
        .delete();
    }
    await finishIdentityBatch(trx, input.runId, input.batchNo, input.refused, input.nowMs);
  });
}

async function finishIdentityBatch(
  trx: Knex.Transaction,
  runId: string,
  batchNo: number,
  deferred: Array<{ item: MergeItem | DeleteItem | RenameItem; reason: string }>,
  nowMs: number,
): Promise<void> {
  const errors: RowError[] = deferred.map(({ item, reason }) => ({
    stage: 'deliver',
    recordKey: item.masterId,
    reason,
  }));
  await recordRowErrors(trx, runId, errors);
  await trx('outbox')
    .where({ run_id: runId, batch_no: batchNo })
    .update({ status: 'sent', sent_at_ms: nowMs, rejected_count: deferred.length });
}

/** Gives up on a batch after a final error; its records are reported and tried next run. */
export async function failBatch(
  db: Knex,
  runId: string,
  batchNo: number,
  reason: string,
): Promise<void> {
  await db.transaction(async (trx) => {
    const row = await trx('outbox').where({ run_id: runId, batch_no: batchNo }).first('items');
    const items: OutboxItem[] = row ? JSON.parse(row.items) : [];
    await recordRowErrors(
      trx,
      runId,
      items.map((item) => ({ stage: 'deliver' as const, recordKey: item.masterId, reason })),
    );
    await trx('outbox')
      .where({ run_id: runId, batch_no: batchNo })
      .update({ status: 'failed', error: reason });
  });
}

export interface OutboxSummary {
  batches: number;
  pending: number;
  failed: number;
  requestsSent: number;
  attributesSent: number;
  itemsSent: number;
  /** Items of sent batches that Braze accepted (not named in its per-item errors). */
  itemsAccepted: number;
  /** Items Braze refused: named in a 201's errors, or in a batch that failed for good. */
  itemsRejected: number;
}

/**
 * Delivery figures of a run. Item counts are about attribute updates; merge, delete and events
 * batches count in `batches`, `pending`, `failed` and `requestsSent` (see
 * `summarizeIdentityChanges` and store/event-delivery.ts `summarizeEvents`).
 */
export async function summarizeOutbox(db: Knex, runId: string): Promise<OutboxSummary> {
  const rows = await db('outbox')
    .where({ run_id: runId })
    .select('kind', 'status', 'attempts', 'attribute_count', 'item_count', 'rejected_count');
  const summary: OutboxSummary = {
    batches: rows.length,
    pending: 0,
    failed: 0,
    requestsSent: 0,
    attributesSent: 0,
    itemsSent: 0,
    itemsAccepted: 0,
    itemsRejected: 0,
  };
  for (const row of rows) {
    summary.requestsSent += Number(row.attempts);
    if (row.kind !== 'track') {
      if (row.status === 'failed') summary.failed += 1;
      else if (row.status !== 'sent') summary.pending += 1;
    } else if (row.status === 'sent') {
      summary.attributesSent += Number(row.attribute_count);
      summary.itemsSent += Number(row.item_count);
      summary.itemsAccepted += Number(row.item_count) - Number(row.rejected_count);
      summary.itemsRejected += Number(row.rejected_count);
    } else if (row.status === 'failed') {
      summary.failed += 1;
      summary.itemsRejected += Number(row.item_count);
    } else {
      summary.pending += 1;
    }
  }
  return summary;
}

/**
 * Profiles a run merged away, deleted and renamed in Braze: items of merge, delete and rename
 * batches sent, less those not done.
 */
export interface IdentityChangesSummary {
  profilesMerged: number;
  profilesDeleted: number;
  profilesRenamed: number;
}

export async function summarizeIdentityChanges(
  db: Knex,
  runId: string,
): Promise<IdentityChangesSummary> {
  const rows = await db('outbox')
    .where({ run_id: runId, status: 'sent' })
    .whereIn('kind', ['merge', 'delete', 'rename'])
    .select('kind', 'item_count', 'rejected_count');
  const summary: IdentityChangesSummary = {
    profilesMerged: 0,
    profilesDeleted: 0,
    profilesRenamed: 0,
  };
  for (const row of rows) {
    const done = Number(row.item_count) - Number(row.rejected_count);
    if (row.kind === 'merge') summary.profilesMerged += done;
    else if (row.kind === 'delete') summary.profilesDeleted += done;
    else summary.profilesRenamed += done;
  }
  return summary;
}
