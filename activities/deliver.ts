import { Context, log } from '@temporalio/activity';
import { BrazeClient } from '../connectors/braze/client';
import { toAttributeObject } from '../connectors/braze/mapping';
import { BadInputError, RateLimitError, UpstreamError } from '../connectors/errors';
import { resolveSecret, resolveSync } from '../config/load';
import { completeBatch, failBatch, markSending, nextPendingBatch } from '../store/delivery';
import { clock, type ActivityDeps } from './deps';
import { withFailures } from './failure';

export interface DeliverWindowInput {
  runId: string;
  syncId: string;
  /** Requests this window may send (the sync's request volume per time window). */
  maxRequests: number;
}

export interface DeliverWindowResult {
  requestsSent: number;
  /** True when the outbox has no pending batch left. */
  done: boolean;
  /** When Braze asked us to pause: the epoch ms to wait until before the next window. */
  waitUntilMs?: number;
}

/**
 * Sends up to one window of the run's pending batches, in order. Each batch is marked in the
 * outbox before and after it is sent, and the activity heartbeats after each one, so a crashed
 * or timed-out attempt resumes at the batch that was in flight: at most that batch is sent
 * twice. Cancellation aborts the in-flight request. A 429 ends the window early with the time
 * Braze wants us to wait; a final error about the batch (a 400) fails only that batch; a
 * rejected key or bad configuration fails the run; other errors are retried by the activity's
 * retry policy.
 */
export async function deliverWindow(deps: ActivityDeps, input: DeliverWindowInput): Promise<DeliverWindowResult> {
  return withFailures(async () => {
    const { sync, destination } = resolveSync(deps.config, input.syncId);
    const client = new BrazeClient({
      endpoint: destination.endpoint,
      apiKey: resolveSecret(destination.apiKey, `destinations.${sync.destination}.apiKey`),
    });
    const context = Context.current();
    let requestsSent = 0;

    while (requestsSent < input.maxRequests) {
      const batch = await nextPendingBatch(deps.db, input.runId);
      if (!batch) return { requestsSent, done: true };

      await markSending(deps.db, input.runId, batch.batchNo);
      requestsSent += 1;
      const started = clock(deps);
      try {
        const objects = batch.items.map((item) => toAttributeObject(item.externalId, item.attributes));
        const result = await client.trackAttributes(objects, { signal: context.cancellationSignal });
        const failed = new Map(result.itemErrors.map((e) => [e.index, e.reason]));
        await completeBatch(deps.db, {
          runId: input.runId,
          syncId: input.syncId,
          batchNo: batch.batchNo,
          accepted: batch.items.filter((_, i) => !failed.has(i)),
          rejected: batch.items.flatMap((item, i) => (failed.has(i) ? [{ item, reason: failed.get(i)! }] : [])),
          nowMs: clock(deps),
        });
        context.heartbeat({ nextBatch: batch.batchNo + 1 });
        log.info('Batch delivered', {
          syncId: input.syncId,
          batchId: batch.batchNo,
          recordCount: batch.items.length,
          rejectedCount: failed.size,
          durationMs: clock(deps) - started,
        });
        const { remaining, resetAtMs } = result.rateLimit;
        if (remaining === 0 && resetAtMs !== undefined) return { requestsSent, done: false, waitUntilMs: resetAtMs };
      } catch (error) {
        if (error instanceof RateLimitError) {
          log.warn('Rate limited', { syncId: input.syncId, batchId: batch.batchNo, retryAfterMs: error.retryAfterMs });
          return { requestsSent, done: false, waitUntilMs: clock(deps) + error.retryAfterMs };
        }
        // Only what is wrong with this batch fails this batch alone (a 400, an oversized body);
        // rejected keys and bad configuration would fail every batch, so they end the run.
        const batchOnly = error instanceof BadInputError || (error instanceof UpstreamError && !error.retryable);
        if (batchOnly) {
          log.error('Batch rejected', { syncId: input.syncId, batchId: batch.batchNo, error: error.message });
          await failBatch(deps.db, input.runId, batch.batchNo, error.message);
          continue;
        }
        throw error;
      }
    }
    return { requestsSent, done: (await nextPendingBatch(deps.db, input.runId)) === undefined };
  });
}
