import type { Knex } from 'knex';

import type { TrackedEvent, TrackedPurchase } from '../connectors/braze/types';
import { appendOutboxBatches } from './delivery';
import { isPostgres } from './db';
import { recordRowErrors, type RowError } from './runs';

type Db = Knex | Knex.Transaction;

/** One planned custom event or purchase: where it comes from, who gets it, what is sent. */
export interface EventItem {
  exportKey: string;
  kind: 'event' | 'purchase';
  dataset: string;
  recordId: number;
  /** Names the event in row errors: its order id, else its record id. */
  recordKey: string;
  contentHash: string;
  masterId: string;
  /** The external id as planned; delivery prefers the one Braze last accepted for the master. */
  externalId: string;
  event?: TrackedEvent;
  purchase?: TrackedPurchase;
}

/** One event of a page of candidates, joined with the golden record it goes to. */
export interface CandidateEvent {
  recordId: number;
  at: string;
  amount: number | null;
  orderId: string | null;
  payload: Record<string, string>;
  contentHash: string;
  masterId: string;
  externalId: string;
}

/** How planning finds the customer key and the external id in a golden record. */
export interface TargetSpec {
  syncId: string;
  /** The profiles dataset of the sync. */
  dataset: string;
  /** The link's name and its golden field holding the events' customer key. */
  link: string;
  linkField: string;
  /** The sync's identifier: `master_id` or a golden field. */
  identifier: string;
}

/**
 * Rebuilds the sync's `event_targets` for one link: each customer key of an active prepared
 * golden record that has the sync identifier (its link field, and every key of a record that
 * holds several, from `link_keys`), with that record's master and external id. A key
 * several golden records share goes to the oldest of them (lowest id), so an event is never
 * sent to two profiles. One INSERT … SELECT: golden records never travel through memory.
 */
export async function rebuildEventTargets(db: Db, spec: TargetSpec): Promise<number> {
  await db('event_targets').where({ sync_id: spec.syncId }).delete();
  const key = goldenField(db, spec.linkField);
  const external =
    spec.identifier === 'master_id'
      ? { sql: 'p.master_id', bindings: [] }
      : goldenField(db, spec.identifier);
  await db.raw(
    `INSERT INTO event_targets (sync_id, customer_key, master_id, external_id)
     SELECT ?, k, master_id, ext FROM (
       SELECT k, master_id, ext, ROW_NUMBER() OVER (PARTITION BY k ORDER BY gid) AS rn FROM (
         SELECT TRIM(${key.sql}) AS k, p.master_id AS master_id, TRIM(${external.sql}) AS ext,
                g.id AS gid
         FROM prepared_records p JOIN golden_records g ON g.master_id = p.master_id
         WHERE p.dataset = ? AND g.status = 'active'
         UNION ALL
         SELECT lk.customer_key, p.master_id, TRIM(${external.sql}), g.id
         FROM link_keys lk
         JOIN prepared_records p ON p.dataset = lk.dataset AND p.master_id = lk.master_id
         JOIN golden_records g ON g.master_id = p.master_id
         WHERE lk.dataset = ? AND lk.link = ? AND g.status = 'active'
       ) a WHERE k IS NOT NULL AND k <> '' AND ext IS NOT NULL AND ext <> ''
     ) b WHERE rn = 1`,
    [
      spec.syncId,
      ...key.bindings,
      ...external.bindings,
      spec.dataset,
      ...external.bindings,
      spec.dataset,
      spec.link,
    ],
  );
  // Both tables change wholesale between plans; without fresh statistics PostgreSQL took them
  // for tiny and scanned the ledger once per event (seconds for a few thousand events).
  if (isPostgres(db as Knex)) await db.raw('ANALYZE event_targets, event_delivery');
  const count = await db('event_targets')
    .where({ sync_id: spec.syncId })
    .count<{ n: number }[]>({ n: '*' });
  return Number(count[0]?.n ?? 0);
}

/** Joins an event (`e`) to this export's ledger row (`l`), when it has one. */
function ledgerRowOf(input: { syncId: string; exportKey: string }): Knex.JoinCallback {
  return function joinLedger() {
    this.on('l.record_id', 'e.record_id')
      .andOn('l.dataset', 'e.dataset')
      .andOnVal('l.sync_id', input.syncId)
      .andOnVal('l.export_key', input.exportKey);
  };
}

/**
 * The next page of events of `dataset` that this export has not delivered, in record id order
 * after `afterRecordId`: usable, dated on or after `sinceDay`, whose customer key has a target,
 * and either absent from the ledger or rejected there with content that has changed since.
 * Keyset paging on the events' primary key keeps every page one indexed range scan.
 */
export async function pageUndeliveredEvents(
  db: Db,
  input: {
    syncId: string;
    exportKey: string;
    dataset: string;
    sinceDay: number | null;
    afterRecordId: number;
    limit: number;
  },
): Promise<CandidateEvent[]> {
  const query = db('prepared_events as e')
    .join('event_targets as t', (j) =>
      j.on('t.customer_key', 'e.customer_key').andOnVal('t.sync_id', input.syncId),
    )
    .leftJoin('event_delivery as l', ledgerRowOf(input))
    .where({ 'e.dataset': input.dataset, 'e.usable': true })
    .where('e.record_id', '>', input.afterRecordId)
    .where((q) =>
      q
        .whereNull('l.record_id')
        .orWhere((r) =>
          r.where('l.status', 'rejected').whereRaw('l.content_hash <> e.content_hash'),
        ),
    )
    .orderBy('e.record_id')
    .limit(input.limit)
    .select(
      'e.record_id',
      'e.at',
      'e.amount',
      'e.order_id',
      'e.payload',
      'e.content_hash',
      't.master_id',
      't.external_id',
    );
  if (input.sinceDay !== null) query.where('e.day', '>=', input.sinceDay);
  const rows = await query;
  return rows.map((r) => ({
    recordId: Number(r.record_id),
    at: r.at,
    amount: r.amount === null ? null : Number(r.amount),
    orderId: r.order_id,
    payload: JSON.parse(r.payload),
    contentHash: r.content_hash,
    masterId: r.master_id,
    externalId: r.external_id,
  }));
}

/**
 * Records the settings an export is planned with. When they differ from the last plan's (or
 * no plan recorded them yet), the export's `rejected` ledger rows are dropped in the same
 * transaction, never its `sent` ones: an event refused under the old settings (a quantity
 * column misspelt) is judged again under the new, while what Braze accepted is never resent.
 * Dropped and recorded together, so a crash leaves either both or neither. Returns how many
 * rejected rows were dropped (0 when the settings are unchanged).
 */
export async function reviseExportSettings(
  db: Knex,
  input: { syncId: string; exportKey: string; settingsHash: string; nowMs: number },
): Promise<number> {
  return db.transaction(async (trx) => {
    const key = { sync_id: input.syncId, export_key: input.exportKey };
    const query = trx('event_export_settings').where(key);
    // Two plans of one sync do not overlap, but the row lock keeps a stray one from
    // interleaving on PostgreSQL; SQLite's write transaction locks the whole file anyway.
    if (isPostgres(db)) query.forUpdate();
    const last = await query.first('settings_hash');
    if (last?.settings_hash === input.settingsHash) return 0;
    const dropped = await trx('event_delivery')
      .where({ ...key, status: 'rejected' })
      .delete();
    await trx('event_export_settings')
      .insert({ ...key, settings_hash: input.settingsHash, updated_at_ms: input.nowMs })
      .onConflict(['sync_id', 'export_key'])
      .merge(['settings_hash', 'updated_at_ms']);
    return Number(dropped);
  });
}

/**
 * Usable events of `dataset` dated on or after `sinceDay` that this export has not recorded
 * and whose customer key has no target: no active golden record holds it with the sync's
 * identifier (yet). Not row errors: such an event is planned once its customer arrives. One
 * COUNT against the same event_targets the plan joins, so the two never disagree.
 */
export async function countUnmatchedEvents(
  db: Db,
  input: { syncId: string; exportKey: string; dataset: string; sinceDay: number | null },
): Promise<number> {
  const query = db('prepared_events as e')
    .leftJoin('event_targets as t', (j) =>
      j.on('t.customer_key', 'e.customer_key').andOnVal('t.sync_id', input.syncId),
    )
    .leftJoin('event_delivery as l', ledgerRowOf(input))
    .where({ 'e.dataset': input.dataset, 'e.usable': true })
    .whereNull('t.customer_key')
    .whereNull('l.record_id')
    .count<{ n: number | string }[]>({ n: '*' });
  if (input.sinceDay !== null) query.where('e.day', '>=', input.sinceDay);
  const rows = await query;
  return Number(rows[0]?.n ?? 0);
}

/** The run's event batches and their items so far: planning twice keeps the first plan. */
export async function plannedEventBatches(
  db: Db,
  runId: string,
): Promise<{ batches: number; items: number }> {
  const rows = await db('outbox')
    .where({ run_id: runId, kind: 'events' })
    .select(db.raw('count(*) as n'), db.raw('coalesce(sum(item_count), 0) as items'));
  return { batches: Number(rows[0]?.n ?? 0), items: Number(rows[0]?.items ?? 0) };
}

/**
 * Appends event batches to the run's outbox after every batch it has, in one statement, so a
 * crash never leaves half a page planned. Returns the number of batches written.
 */
export async function appendEventBatches(
  db: Db,
  input: { runId: string; syncId: string; batches: EventItem[][] },
): Promise<number> {
  if (input.batches.length === 0) return 0;
  return db.transaction((trx) => appendOutboxBatches(trx, { ...input, kind: 'events' }));
}

/** An event that cannot be sent as configured or that Braze refused, with the reason. */
export interface RejectedEvent {
  item: EventItem;
  reason: string;
}

/**
 * Records events refused at planning (no price, a bad currency…) in the ledger as `rejected`
 * with a row error, so they are not planned again until their content or the export's
 * settings change.
 */
export async function rejectAtPlanning(
  db: Db,
  input: { runId: string; syncId: string; rejected: RejectedEvent[]; nowMs: number },
): Promise<void> {
  if (input.rejected.length === 0) return;
  await db.transaction(async (trx) => {
    await writeLedger(trx, input.runId, input.syncId, 'rejected', input.rejected, input.nowMs);
    await recordRowErrors(
      trx,
      input.runId,
      input.rejected.map((r) => rowError('plan', r)),
    );
  });
}

/**
 * Records Braze's answer to an events batch in one transaction: accepted items enter the ledger
 * as `sent`; items Braze refused (validation errors, which would fail again) enter it as
 * `rejected` and become row errors; deferred items (their profile is not in Braze yet) become
 * row errors only and stay out of the ledger, so the next run plans them again.
 */
export async function completeEventBatch(
  db: Knex,
  input: {
    runId: string;
    syncId: string;
    batchNo: number;
    sent: EventItem[];
    rejected: RejectedEvent[];
    deferred: RejectedEvent[];
    nowMs: number;
  },
): Promise<void> {
  await db.transaction(async (trx) => {
    const sent = input.sent.map((item) => ({ item, reason: '' }));
    await writeLedger(trx, input.runId, input.syncId, 'sent', sent, input.nowMs);
    await writeLedger(trx, input.runId, input.syncId, 'rejected', input.rejected, input.nowMs);
    const errors = [...input.rejected, ...input.deferred].map((r) => rowError('deliver', r));
    await recordRowErrors(trx, input.runId, errors);
    await trx('outbox').where({ run_id: input.runId, batch_no: input.batchNo }).update({
      status: 'sent',
      sent_at_ms: input.nowMs,
      rejected_count: input.rejected.length,
      deferred_count: input.deferred.length,
    });
  });
}

async function writeLedger(
  trx: Knex.Transaction | Knex,
  runId: string,
  syncId: string,
  status: 'sent' | 'rejected',
  entries: RejectedEvent[],
  nowMs: number,
): Promise<void> {
  const rows = entries.map(({ item, reason }) => ({
    sync_id: syncId,
    export_key: item.exportKey,
    dataset: item.dataset,
    record_id: item.recordId,
    master_id: item.masterId,
    kind: item.kind,
    status,
    reason: status === 'rejected' ? reason : null,
    content_hash: item.contentHash,
    sent_at_ms: nowMs,
    run_id: runId,
  }));
  // A rejected event planned again after its content changed already has a ledger row.
  const update = ['master_id', 'status', 'reason', 'content_hash', 'sent_at_ms', 'run_id'];
  for (let i = 0; i < rows.length; i += 100) {
    await trx('event_delivery')
      .insert(rows.slice(i, i + 100))
      .onConflict(['sync_id', 'export_key', 'dataset', 'record_id'])
      .merge(update);
  }
}

function rowError(stage: 'plan' | 'deliver', { item, reason }: RejectedEvent): RowError {
  return { stage, recordKey: `${item.dataset}/${item.recordKey}`, field: item.exportKey, reason };
}

/** Custom events and purchases of a run: sent (accepted), rejected, deferred. */
export interface EventsSummary {
  eventsSent: number;
  eventsRejected: number;
  eventsDeferred: number;
  purchasesSent: number;
  purchasesRejected: number;
  purchasesDeferred: number;
}

/** The run's event figures: the ledger rows it wrote, and the items its batches deferred. */
export async function summarizeEvents(db: Knex, runId: string): Promise<EventsSummary> {
  const summary: EventsSummary = {
    eventsSent: 0,
    eventsRejected: 0,
    eventsDeferred: 0,
    purchasesSent: 0,
    purchasesRejected: 0,
    purchasesDeferred: 0,
  };
  const rows = await db('event_delivery')
    .where({ run_id: runId })
    .groupBy('kind', 'status')
    .select('kind', 'status')
    .count<{ kind: string; status: string; n: number }[]>({ n: '*' });
  for (const row of rows) {
    const prefix = row.kind === 'purchase' ? 'purchases' : 'events';
    const suffix = row.status === 'sent' ? 'Sent' : 'Rejected';
    summary[`${prefix}${suffix}`] += Number(row.n);
  }
  // Every item of a batch has the same kind: the first one names it.
  const deferred = await db('outbox')
    .where({ run_id: runId, kind: 'events' })
    .where('deferred_count', '>', 0)
    .select('items', 'deferred_count');
  for (const row of deferred) {
    const first = (JSON.parse(row.items) as EventItem[])[0];
    if (first?.kind === 'purchase') summary.purchasesDeferred += Number(row.deferred_count);
    else summary.eventsDeferred += Number(row.deferred_count);
  }
  return summary;
}

/** A golden-record field of prepared_records.attributes (JSON text) as SQL text. */
function goldenField(db: Db, field: string): { sql: string; bindings: Knex.RawBinding[] } {
  if (isPostgres(db as Knex)) return { sql: '(p.attributes::jsonb ->> ?)', bindings: [field] };
  return { sql: 'json_extract(p.attributes, ?)', bindings: [`$."${field.replace(/"/g, '\\"')}"`] };
}
