import type { Knex } from 'knex';
import {
  findIdempotentAnswer,
  finishWebhookRequest,
  logWebhookRequest,
  stageVersion,
  startWebhookRequest,
  type StagedVersion,
  type WebhookRequestOutcome,
} from '../../store/webhook';
import { checkRecords, recordsOfBody } from './records';
import type { PushRequest, StageAnswer, WebhookContext } from './types';

/**
 * `POST <base>/records`: validates every record, stages the good ones in one transaction with
 * the log row, and answers with counts plus the rejected records by index, field and reason.
 * 200 when at least one record was accepted, 422 when none was.
 */
export async function stageBatch(ctx: WebhookContext, request: PushRequest): Promise<StageAnswer> {
  const { source } = request;
  const found = recordsOfBody(request.body);
  if (!found.ok) return refuseBody(ctx, request, 400, found.reason);
  const checked = checkRecords(source.name, source.config, source.fields, found.records);
  const { versions, rejects } = checked;

  return claimAndStage(ctx, request, async (trx, requestId) => {
    const counts = { staged: 0, stale: 0, duplicate: 0 };
    for (const { index, version } of versions) {
      const origin = `webhook request ${requestId} record ${index}`;
      const result = await stageVersion(trx, { ...version, origin }, request.startedMs, requestId);
      counts[result.outcome] += 1;
    }
    const status = versions.length === 0 ? 422 : 200;
    const body = {
      request_id: requestId,
      records: found.records.length,
      accepted: versions.length,
      staged: counts.staged,
      stale: counts.stale,
      duplicates: counts.duplicate,
      rejected: rejects.length,
      rejects,
    };
    const outcome: WebhookRequestOutcome = {
      statusCode: status,
      recordCount: found.records.length,
      accepted: versions.length,
      staged: counts.staged,
      rejected: rejects.length,
      rejects,
      errorSummary:
        rejects.length > 0 ? `${rejects.length} of ${found.records.length} records rejected` : null,
    };
    return { status, body, outcome, staged: counts.staged };
  });
}

/**
 * `POST <base>/upsert`: stages one record, then answers with the `master_id` the identity
 * engine gives its staged row, so an app can use the id at once. An older version (by
 * `occurred_at`) or a repeat still answers with the master id of the record as stored.
 */
export async function stageOne(ctx: WebhookContext, request: PushRequest): Promise<StageAnswer> {
  const { source, start } = request;
  const resolveMaster = ctx.resolveMaster;
  if (!resolveMaster) {
    return refuseBody(ctx, request, 501, 'upsert is not available: no identity resolver is wired');
  }
  const found = recordsOfBody(request.body);
  if (!found.ok || Array.isArray(request.body) || found.records.length !== 1) {
    return refuseBody(ctx, request, 400, 'upsert takes exactly one JSON object');
  }
  const checked = checkRecords(source.name, source.config, source.fields, found.records);
  const { versions, rejects } = checked;

  let staged: StagedVersion | undefined;
  const answer = await claimAndStage(ctx, request, async (trx, requestId) => {
    const version = versions[0]?.version;
    if (version) {
      const origin = `webhook request ${requestId} record 0`;
      staged = await stageVersion(trx, { ...version, origin }, request.startedMs, requestId);
    }
    const status = staged ? 200 : 422;
    const body = staged
      ? {
          request_id: requestId,
          record_id: staged.recordId,
          outcome: staged.outcome,
          master_id: null,
        }
      : { request_id: requestId, error: 'record rejected', rejects };
    const outcome: WebhookRequestOutcome = {
      statusCode: status,
      recordCount: 1,
      accepted: staged ? 1 : 0,
      staged: staged?.outcome === 'staged' ? 1 : 0,
      rejected: rejects.length,
      rejects,
      errorSummary: staged ? null : 'record rejected',
    };
    return { status, body, outcome, staged: staged?.outcome === 'staged' ? 1 : 0 };
  });
  if (answer.replayed || !staged || answer.requestId === null) return answer;

  // The row is committed before the identity engine looks it up; the answer waits for both.
  const requestId = answer.requestId;
  let masterId: string | null;
  try {
    masterId = staged.recordId === null ? null : await resolveMaster(source.name, staged.recordId);
  } catch (error) {
    ctx.log.error('Master id not resolved', {
      source: source.name,
      requestId,
      error: errorName(error),
    });
    const errorSummary = 'master_id could not be resolved';
    const failed = { ...answer.outcome, statusCode: 500, errorSummary };
    const durationMs = ctx.now() - start.receivedAtMs;
    await finishWebhookRequest(ctx.db, requestId, { ...failed, durationMs });
    const body = { request_id: requestId, record_id: staged.recordId, error: failed.errorSummary };
    return { replayed: false, status: 500, body, requestId, outcome: failed };
  }
  const body = { ...(answer.body as object), master_id: masterId };
  await finishWebhookRequest(ctx.db, requestId, {
    ...answer.outcome,
    durationMs: ctx.now() - start.receivedAtMs,
    response: start.idempotencyKey !== null ? JSON.stringify(body) : null,
  });
  return { ...answer, body };
}

interface Staged {
  status: number;
  body: unknown;
  outcome: WebhookRequestOutcome;
  staged: number;
}

/**
 * Runs the staging work and writes its log row in one transaction. With an Idempotency-Key, the
 * log row also claims the key; if a concurrent copy of the request claimed it first, the whole
 * transaction rolls back and the caller replays that copy's answer instead.
 */
async function claimAndStage(
  ctx: WebhookContext,
  request: PushRequest,
  work: (trx: Knex.Transaction, requestId: number) => Promise<Staged>,
): Promise<StageAnswer> {
  const { start } = request;
  let done: Staged & { requestId: number };
  try {
    done = await ctx.db.transaction(async (trx) => {
      const requestId = await startWebhookRequest(trx, start);
      const result = await work(trx, requestId);
      await finishWebhookRequest(trx, requestId, {
        ...result.outcome,
        durationMs: ctx.now() - request.startedMs,
        response: start.idempotencyKey !== null ? JSON.stringify(result.body) : null,
      });
      return { ...result, requestId };
    });
  } catch (error) {
    const key = start.idempotencyKey;
    const claimed = key !== null && (await findIdempotentAnswer(ctx.db, start.source, key));
    if (claimed) return { replayed: true };
    throw error;
  }
  if (done.staged > 0) ctx.notifyStaged(start.source, done.staged);
  const { status, body, requestId, outcome } = done;
  return { replayed: false, status, body, requestId, outcome };
}

async function refuseBody(
  ctx: WebhookContext,
  request: PushRequest,
  status: number,
  error: string,
): Promise<StageAnswer> {
  const outcome: WebhookRequestOutcome = {
    statusCode: status,
    errorSummary: error,
    durationMs: ctx.now() - request.startedMs,
  };
  const requestId = await logWebhookRequest(ctx.db, request.start, outcome);
  return { replayed: false, status, body: { request_id: requestId, error }, requestId, outcome };
}

/** A class name or driver code for logs: driver messages can quote the values of a record. */
export function errorName(error: unknown): string {
  if (error && typeof error === 'object') {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    return (error as { name?: string }).name ?? 'Error';
  }
  return typeof error;
}
