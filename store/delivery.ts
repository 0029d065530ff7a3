import type { Knex } from 'knex';
import type { AttributeValue } from '../domain/diff';
import { recordRowErrors, type RowError } from './runs';

/** One profile update planned for the destination. */
export interface OutboxItem {
  masterId: string;
  externalId: string;
  attributes: Record<string, AttributeValue>;
}

export interface OutboxBatch {
  batchNo: number;
  items: OutboxItem[];
  attempts: number;
}

/** What the destination last accepted, per golden record, for one sync. */
export async function loadDestinationState(
  db: Knex,
  syncId: string,
): Promise<Map<string, Record<string, AttributeValue>>> {
  const rows = await db('destination_state').where({ sync_id: syncId }).select('master_id', 'attributes');
  return new Map(rows.map((r) => [r.master_id as string, JSON.parse(r.attributes)]));
}

/**
 * Stores a run's planned batches, numbered from 1. Planning twice for the same run (a retried
 * activity) keeps the first plan, so batches are never doubled.
 */
export async function writeOutbox(
  db: Knex,
  runId: string,
  syncId: string,
  batches: OutboxItem[][],
): Promise<number> {
  return db.transaction(async (trx) => {
    const existing = await trx('outbox').where({ run_id: runId }).count<{ n: number }[]>({ n: '*' });
    const already = Number(existing[0]?.n ?? 0);
    if (already > 0) return already;
    const rows = batches.map((items, i) => ({
      run_id: runId,
      batch_no: i + 1,
      sync_id: syncId,
      status: 'planned',
      items: JSON.stringify(items),
      item_count: items.length,
      attribute_count: items.reduce((n, item) => n + Object.keys(item.attributes).length, 0),
      attempts: 0,
    }));
    for (let i = 0; i < rows.length; i += 200) await trx('outbox').insert(rows.slice(i, i + 200));
    return rows.length;
  });
}

/** The lowest-numbered batch of the run that Braze has not acknowledged yet. */
export async function nextPendingBatch(db: Knex, runId: string): Promise<OutboxBatch | undefined> {
  const row = await db('outbox')
    .where({ run_id: runId })
    .whereIn('status', ['planned', 'sending'])
    .orderBy('batch_no')
    .first('batch_no', 'items', 'attempts');
  if (!row) return undefined;
  return { batchNo: Number(row.batch_no), items: JSON.parse(row.items), attempts: Number(row.attempts) };
}

/** Notes that a batch is about to be sent, so the report counts resent requests honestly. */
export async function markSending(db: Knex, runId: string, batchNo: number): Promise<void> {
  await db('outbox')
    .where({ run_id: runId, batch_no: batchNo })
    .update({ status: 'sending', attempts: db.raw('attempts + 1') });
}

/**
 * Records Braze's answer to a batch in one transaction: the batch is done, accepted items move
 * the last-sent state forward (a null removes the attribute from it), rejected items become
 * row errors and leave the state alone so the next run tries them again.
 */
export async function completeBatch(
  db: Knex,
  input: {
    runId: string;
    syncId: string;
    batchNo: number;
    accepted: OutboxItem[];
    rejected: Array<{ item: OutboxItem; reason: string }>;
    nowMs: number;
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
      const state = { ...(current.get(item.masterId) ?? {}) };
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
    await trx('outbox')
      .where({ run_id: input.runId, batch_no: input.batchNo })
      .update({ status: 'sent', sent_at_ms: input.nowMs, rejected_count: input.rejected.length });
  });
}

/** Gives up on a batch after a final error; its records are reported and tried next run. */
export async function failBatch(db: Knex, runId: string, batchNo: number, reason: string): Promise<void> {
  await db.transaction(async (trx) => {
    const row = await trx('outbox').where({ run_id: runId, batch_no: batchNo }).first('items');
    const items: OutboxItem[] = row ? JSON.parse(row.items) : [];
    await recordRowErrors(
      trx,
      runId,
      items.map((item) => ({ stage: 'deliver' as const, recordKey: item.masterId, reason })),
    );
    await trx('outbox').where({ run_id: runId, batch_no: batchNo }).update({ status: 'failed', error: reason });
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

export async function summarizeOutbox(db: Knex, runId: string): Promise<OutboxSummary> {
  const rows = await db('outbox')
    .where({ run_id: runId })
    .select('status', 'attempts', 'attribute_count', 'item_count', 'rejected_count');
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
    if (row.status === 'sent') {
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
