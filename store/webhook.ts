import { createHash } from 'node:crypto';
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

/** One version of a record as a webhook delivered it; `values` are already validated. */
export interface RecordVersion {
  source: string;
  recordKey: string;
  /** The producer's event id, when the source configures an `eventId` column. */
  eventId: string | null;
  values: Record<string, string>;
  /** When the change happened (`occurred_at`), epoch ms; null orders the version by arrival. */
  occurredAtMs: number | null;
  /** Lineage, e.g. `webhook request 12 record 3`. */
  origin: string;
}

/**
 * `staged`: the version is now the current one in `source_records`; `stale`: it is older than
 * the current one and went to history only; `duplicate`: it was seen before and changed nothing.
 */
export type VersionOutcome = 'staged' | 'stale' | 'duplicate';

export interface StagedVersion {
  outcome: VersionOutcome;
  /** The `source_records` row of the record key after the call (null if there is none). */
  recordId: number | null;
}

/**
 * Stages one version unless it is older than the stored one (trap BL-17: webhooks arrive late,
 * twice and out of order). The rule: a version replaces the stored row only if its
 * `occurred_at` is newer than or equal to the stored `source_updated_at_ms` (a missing time on
 * either side orders by arrival); an older version goes only to `source_record_history`; a
 * repeated event id, or content equal to a version already received for the key, is a
 * redelivery and changes nothing. Content includes `occurred_at`, so only a source without one
 * loses a change back to an earlier state (A, B, A): the second A reads as a redelivery. The
 * decision to replace is one conditional upsert, so concurrent deliveries of the same key cannot
 * both win. Run it inside the request's transaction.
 */
export async function stageVersion(
  db: Db,
  version: RecordVersion,
  receivedAtMs: number,
  requestId: number | null,
): Promise<StagedVersion> {
  const { source, recordKey, eventId } = version;
  if (eventId !== null) {
    const seen = await db('source_record_history').where({ source, event_id: eventId }).first('id');
    if (seen) return duplicateOf(db, source, recordKey);
  }

  const payload = canonicalJson(version.values);
  const contentHash = createHash('sha256').update(payload).digest('hex');
  const known = await db('source_record_history')
    .where({ source, record_key: recordKey, content_hash: contentHash })
    .first('id');
  if (known) return duplicateOf(db, source, recordKey);

  const staged = await db('source_records')
    .insert({
      source,
      record_key: recordKey,
      payload,
      content_hash: contentHash,
      source_updated_at_ms: version.occurredAtMs,
      staged_at_ms: receivedAtMs,
      origin: version.origin,
    })
    .onConflict(['source', 'record_key'])
    .merge(['payload', 'content_hash', 'source_updated_at_ms', 'staged_at_ms', 'origin'])
    .whereRaw(NEWER_OR_EQUAL)
    .returning('id');

  const history = {
    source,
    record_key: recordKey,
    event_id: eventId,
    content_hash: contentHash,
    payload,
    occurred_at_ms: version.occurredAtMs,
    received_at_ms: receivedAtMs,
    request_id: requestId,
  };
  const row = staged[0] as { id: number } | number | undefined;
  if (row !== undefined) {
    await db('source_record_history').insert({ ...history, outcome: 'staged' });
    return { outcome: 'staged', recordId: Number(typeof row === 'object' ? row.id : row) };
  }

  const current = await db('source_records').where({ source, record_key: recordKey }).first();
  const recordId = current ? Number(current.id) : null;
  if (current?.content_hash === contentHash) return { outcome: 'duplicate', recordId };
  // A concurrent delivery of the same event id may have won since the check above.
  await db('source_record_history')
    .insert({ ...history, outcome: 'stale' })
    .onConflict(['source', 'event_id'])
    .ignore();
  return { outcome: 'stale', recordId };
}

/**
 * The stored row is replaced only by different content that is not older. Both SQLite and
 * PostgreSQL name the proposed row `excluded` in an upsert.
 */
const NEWER_OR_EQUAL =
  'source_records.content_hash <> excluded.content_hash and (' +
  'excluded.source_updated_at_ms is null or source_records.source_updated_at_ms is null or ' +
  'excluded.source_updated_at_ms >= source_records.source_updated_at_ms)';

async function duplicateOf(db: Db, source: string, recordKey: string): Promise<StagedVersion> {
  const row = await db('source_records').where({ source, record_key: recordKey }).first('id');
  return { outcome: 'duplicate', recordId: row ? Number(row.id) : null };
}

/** JSON with sorted keys, so a redelivery with reordered fields has the same content hash. */
function canonicalJson(values: Record<string, string>): string {
  const sorted: Record<string, string> = {};
  for (const name of Object.keys(values).sort()) sorted[name] = values[name]!;
  return JSON.stringify(sorted);
}

/** One record version of history, oldest first as received. */
export interface HistoryEntry {
  recordKey: string;
  eventId: string | null;
  values: Record<string, string>;
  occurredAtMs: number | null;
  receivedAtMs: number;
  requestId: number | null;
  outcome: 'staged' | 'stale';
}

/** Every version received for a record key (or for the whole source), in arrival order. */
export async function listRecordHistory(
  db: Db,
  source: string,
  recordKey?: string,
): Promise<HistoryEntry[]> {
  const query = db('source_record_history').where({ source }).orderBy('id');
  if (recordKey !== undefined) query.andWhere({ record_key: recordKey });
  const rows = await query;
  return rows.map((row) => ({
    recordKey: row.record_key,
    eventId: row.event_id ?? null,
    values: JSON.parse(row.payload) as Record<string, string>,
    occurredAtMs: row.occurred_at_ms === null ? null : Number(row.occurred_at_ms),
    receivedAtMs: Number(row.received_at_ms),
    requestId: row.request_id === null ? null : Number(row.request_id),
    outcome: row.outcome,
  }));
}

/** A rejected record of a request, by its index in the request. */
export interface RecordReject {
  index: number;
  field?: string;
  reason: string;
}

/** One row of the request log. Never holds a body, a signature or a token. */
export interface WebhookRequestEntry {
  id: number;
  source: string;
  endpoint: string;
  receivedAtMs: number;
  idempotencyKey: string | null;
  statusCode: number;
  recordCount: number;
  accepted: number;
  staged: number;
  rejected: number;
  errorSummary: string | null;
  rejects: RecordReject[];
  bodyHash: string | null;
  remoteAddress: string | null;
  durationMs: number | null;
  replayOf: number | null;
}

/** What is known when a request arrives; the outcome is added by `finishWebhookRequest`. */
export type WebhookRequestStart = Pick<
  WebhookRequestEntry,
  'source' | 'endpoint' | 'receivedAtMs' | 'idempotencyKey' | 'bodyHash' | 'remoteAddress'
>;

/** The outcome of a request; `response` is kept only when a repeated key should replay it. */
export interface WebhookRequestOutcome {
  statusCode: number;
  recordCount?: number;
  accepted?: number;
  staged?: number;
  rejected?: number;
  errorSummary?: string | null;
  rejects?: RecordReject[];
  durationMs?: number;
  response?: string | null;
  replayOf?: number | null;
}

/** Opens a log row for a request (status 0 until finished) and returns its id. */
export async function startWebhookRequest(db: Db, start: WebhookRequestStart): Promise<number> {
  const [row] = await db('webhook_requests')
    .insert({
      source: start.source,
      endpoint: start.endpoint,
      received_at_ms: start.receivedAtMs,
      idempotency_key: start.idempotencyKey,
      status_code: 0,
      body_hash: start.bodyHash,
      remote_address: start.remoteAddress,
    })
    .returning('id');
  return Number(typeof row === 'object' ? row.id : row);
}

/**
 * Records how a request ended. Setting `response` claims the request's idempotency key: a
 * second request that already claimed it makes this fail on the unique index, which rolls the
 * caller's transaction back so the second copy stages nothing.
 */
export async function finishWebhookRequest(
  db: Db,
  id: number,
  outcome: WebhookRequestOutcome,
): Promise<void> {
  await db('webhook_requests')
    .where({ id })
    .update({
      status_code: outcome.statusCode,
      record_count: outcome.recordCount ?? 0,
      accepted: outcome.accepted ?? 0,
      staged: outcome.staged ?? 0,
      rejected: outcome.rejected ?? 0,
      error_summary: outcome.errorSummary?.slice(0, 500) ?? null,
      rejects: outcome.rejects?.length ? JSON.stringify(outcome.rejects) : null,
      duration_ms: outcome.durationMs ?? null,
      response: outcome.response ?? null,
      replay_of: outcome.replayOf ?? null,
    });
}

/** Logs a request that ended before any work (refused, malformed), in one statement. */
export async function logWebhookRequest(
  db: Db,
  start: WebhookRequestStart,
  outcome: WebhookRequestOutcome,
): Promise<number> {
  const id = await startWebhookRequest(db, start);
  await finishWebhookRequest(db, id, outcome);
  return id;
}

/** The first answered request that used an idempotency key, with the answer it got. */
export interface IdempotentAnswer {
  requestId: number;
  endpoint: string;
  bodyHash: string | null;
  statusCode: number;
  response: string;
}

export async function findIdempotentAnswer(
  db: Db,
  source: string,
  idempotencyKey: string,
): Promise<IdempotentAnswer | undefined> {
  const row = await db('webhook_requests')
    .where({ source, idempotency_key: idempotencyKey })
    .whereNotNull('response')
    .first();
  if (!row) return undefined;
  return {
    requestId: Number(row.id),
    endpoint: row.endpoint,
    bodyHash: row.body_hash ?? null,
    statusCode: Number(row.status_code),
    response: row.response,
  };
}

/** The request log of a source, newest first. */
export async function listWebhookRequests(
  db: Db,
  source: string,
  limit: number,
): Promise<WebhookRequestEntry[]> {
  const rows = await db('webhook_requests')
    .where({ source })
    .orderBy([
      { column: 'received_at_ms', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(limit);
  return rows.map((row) => ({
    id: Number(row.id),
    source: row.source,
    endpoint: row.endpoint,
    receivedAtMs: Number(row.received_at_ms),
    idempotencyKey: row.idempotency_key ?? null,
    statusCode: Number(row.status_code),
    recordCount: Number(row.record_count),
    accepted: Number(row.accepted),
    staged: Number(row.staged),
    rejected: Number(row.rejected),
    errorSummary: row.error_summary ?? null,
    rejects: row.rejects ? (JSON.parse(row.rejects) as RecordReject[]) : [],
    bodyHash: row.body_hash ?? null,
    remoteAddress: row.remote_address ?? null,
    durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
    replayOf: row.replay_of === null ? null : Number(row.replay_of),
  }));
}
