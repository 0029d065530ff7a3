import { Context, log } from '@temporalio/activity';
import { BrazeClient } from '../connectors/braze/client';
import { toAttributeObject, toEventObject, toPurchaseObject } from '../connectors/braze/mapping';
import type { MergePair, RateLimitInfo } from '../connectors/braze/types';
import { AuthError, BadInputError, RateLimitError, UpstreamError } from '../connectors/errors';
import { resolveSecret, resolveSync } from '../config/load';
import {
  completeBatch,
  completeDeleteBatch,
  completeMergeBatch,
  completeRenameBatch,
  externalIdsHeldByOthers,
  failBatch,
  loadSentExternalIds,
  markSending,
  nextPendingBatch,
  type DeleteItem,
  type MergeItem,
  type OutboxBatch,
  type OutboxItem,
  type RenameItem,
  type SentItem,
} from '../store/delivery';
import { completeEventBatch, type EventItem, type RejectedEvent } from '../store/event-delivery';
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

/** What sending one batch did: requests made (0 when nothing was left to send), and its rate. */
type BatchOutcome = { requests: number; rejectedCount: number; rateLimit?: RateLimitInfo };

type Send = {
  deps: ActivityDeps;
  input: DeliverWindowInput;
  client: BrazeClient;
  signal: AbortSignal;
};

/**
 * Sends up to one window of the run's pending batches, in order: renames, attribute updates,
 * then custom events and purchases, then merges, then deletes. Each batch is marked in the
 * outbox before and after it is sent, and the activity heartbeats after each one, so a crashed
 * or timed-out attempt resumes at the batch that was in flight: at most that batch is sent
 * twice, which merges and deletes tolerate (a profile already merged or deleted is ignored). A
 * merge or delete whose work is already recorded sends nothing. Events are the exception Braze
 * imposes: it never dedupes them, so an events batch resent after a crash between Braze's
 * answer and the ledger commit records its events twice (at most that one batch per crash).
 * Cancellation aborts the in-flight request. A 429 ends the window early with the time Braze
 * wants us to wait; a final error about the batch (a 400) fails only that batch; a rejected key
 * or bad configuration fails the run; other errors are retried by the activity's retry policy.
 */
export async function deliverWindow(
  deps: ActivityDeps,
  input: DeliverWindowInput,
): Promise<DeliverWindowResult> {
  return withFailures(async () => {
    const { sync, destination } = resolveSync(deps.config, input.syncId);
    const client = new BrazeClient({
      endpoint: destination.endpoint,
      apiKey: resolveSecret(destination.apiKey, `destinations.${sync.destination}.apiKey`),
    });
    const context = Context.current();
    const send: Send = { deps, input, client, signal: context.cancellationSignal };
    let requestsSent = 0;

    while (requestsSent < input.maxRequests) {
      const batch = await nextPendingBatch(deps.db, input.runId);
      if (!batch) return { requestsSent, done: true };

      const started = clock(deps);
      let outcome: BatchOutcome;
      try {
        outcome = await sendBatch(send, batch);
      } catch (error) {
        requestsSent += 1;
        if (error instanceof RateLimitError) {
          log.warn('Rate limited', {
            syncId: input.syncId,
            batchId: batch.batchNo,
            retryAfterMs: error.retryAfterMs,
          });
          return { requestsSent, done: false, waitUntilMs: clock(deps) + error.retryAfterMs };
        }
        // Only what is wrong with this batch fails this batch alone (a 400, an oversized body);
        // rejected keys and bad configuration would fail every batch, so they end the run.
        const batchOnly =
          error instanceof BadInputError || (error instanceof UpstreamError && !error.retryable);
        if (!batchOnly) throw error;
        log.error('Batch rejected', {
          syncId: input.syncId,
          batchId: batch.batchNo,
          error: error.message,
        });
        await failBatch(deps.db, input.runId, batch.batchNo, error.message);
        continue;
      }

      requestsSent += outcome.requests;
      context.heartbeat({ nextBatch: batch.batchNo + 1 });
      log.info('Batch delivered', {
        syncId: input.syncId,
        batchId: batch.batchNo,
        kind: batch.kind ?? 'track',
        recordCount: batch.items.length,
        rejectedCount: outcome.rejectedCount,
        durationMs: clock(deps) - started,
      });
      const { remaining, resetAtMs } = outcome.rateLimit ?? {};
      if (remaining === 0 && resetAtMs !== undefined)
        return { requestsSent, done: false, waitUntilMs: resetAtMs };
    }
    return { requestsSent, done: (await nextPendingBatch(deps.db, input.runId)) === undefined };
  });
}

function sendBatch(send: Send, batch: OutboxBatch): Promise<BatchOutcome> {
  if (batch.kind === 'rename') return sendRenames(send, batch.batchNo, batch.items, batch.attempts);
  if (batch.kind === 'merge') return sendMerges(send, batch.batchNo, batch.items);
  if (batch.kind === 'delete') return sendDeletes(send, batch.batchNo, batch.items);
  if (batch.kind === 'events') return sendEvents(send, batch.batchNo, batch.items);
  return sendTrack(send, batch.batchNo, batch.items);
}

/**
 * Sends a batch of attribute updates. An item planned with `full` (its master's external id
 * changed) goes as the planned diff only when the destination state shows the profile under
 * the new id, which a rename earlier in the run recorded; otherwise (rename refused, failed or
 * not planned) it goes with every attribute and replaces the state. A diff left empty by a
 * rename needs no object.
 */
async function sendTrack(send: Send, batchNo: number, items: OutboxItem[]): Promise<BatchOutcome> {
  const { deps, input } = send;
  const moved = items.filter((item) => item.full !== undefined).map((item) => item.masterId);
  const held =
    moved.length > 0 ? await loadSentExternalIds(deps.db, input.syncId, moved) : new Map();
  const outgoing: SentItem[] = items.map((item) =>
    item.full === undefined || held.get(item.masterId) === item.externalId
      ? item
      : { ...item, attributes: item.full, replace: true },
  );
  const sending = outgoing.filter(
    (item) => item.replace || Object.keys(item.attributes).length > 0,
  );
  const attributeCount = sending.reduce((n, item) => n + Object.keys(item.attributes).length, 0);
  if (sending.length === 0) {
    const ids = batchIds(send, batchNo);
    await completeBatch(deps.db, { ...ids, accepted: [], rejected: [], attributeCount });
    return { requests: 0, rejectedCount: 0 };
  }

  await markSending(deps.db, input.runId, batchNo);
  const objects = sending.map((item) => toAttributeObject(item.externalId, item.attributes));
  const result = await send.client.trackAttributes(objects, { signal: send.signal });
  const failed = new Map(result.itemErrors.map((e) => [e.index, e.reason]));
  await completeBatch(deps.db, {
    ...batchIds(send, batchNo),
    accepted: sending.filter((_, i) => !failed.has(i)),
    rejected: sending.flatMap((item, i) =>
      failed.has(i) ? [{ item, reason: failed.get(i)! }] : [],
    ),
    attributeCount,
  });
  return { requests: 1, rejectedCount: failed.size, rateLimit: result.rateLimit };
}

function batchIds(send: Send, batchNo: number) {
  return { runId: send.input.runId, syncId: send.input.syncId, batchNo, nowMs: clock(send.deps) };
}

/**
 * Renames the profiles of masters whose external id changed, from the id Braze holds them
 * under to the planned one. A master whose state already shows the new id needs nothing; one
 * whose state shows neither id (it changed since planning) is not renamed. A rename Braze
 * refuses resets the master's state, so its attribute update goes in full to the new id. A
 * batch sent before (a retry after a crash or a timeout) may have been done already, and Braze
 * refuses a rename whose current id is deprecated: its refusals are checked with
 * `/users/export/ids`, and an old id that now names a profile whose primary id is the new one
 * counts as renamed.
 */
async function sendRenames(
  send: Send,
  batchNo: number,
  items: RenameItem[],
  attempts: number,
): Promise<BatchOutcome> {
  const { deps, input } = send;
  const held = await loadSentExternalIds(
    deps.db,
    input.syncId,
    items.map((item) => item.masterId),
  );
  const renamed = items.filter((item) => held.get(item.masterId) === item.to);
  const ready = items.filter((item) => held.get(item.masterId) === item.from);
  const refused = items
    .filter((item) => held.get(item.masterId) !== item.to && held.get(item.masterId) !== item.from)
    .map((item) => ({ item, reason: 'external id rename skipped: its profile is not in Braze' }));

  let outcome: BatchOutcome = { requests: 0, rejectedCount: 0 };
  if (ready.length > 0) {
    await markSending(deps.db, input.runId, batchNo);
    const pairs = ready.map((item) => ({ currentExternalId: item.from, newExternalId: item.to }));
    const result = await send.client.renameExternalIds(pairs, { signal: send.signal });
    outcome = { requests: 1, rejectedCount: 0, rateLimit: result.rateLimit };
    const errors = new Map(result.itemErrors.map((e) => [e.index, e.reason]));
    renamed.push(...ready.filter((_, i) => !errors.has(i)));
    let denied = ready.flatMap((item, i) =>
      errors.has(i) ? [{ item, reason: errors.get(i)! }] : [],
    );
    if (denied.length > 0 && attempts > 0) {
      const done = await alreadyRenamed(
        send,
        denied.map((d) => d.item),
      );
      const requests = outcome.requests + done.requests;
      outcome = { ...outcome, requests, rateLimit: done.rateLimit };
      renamed.push(...denied.filter((d) => done.items.has(d.item)).map((d) => d.item));
      denied = denied.filter((d) => !done.items.has(d.item));
    }
    for (const { item, reason } of denied)
      refused.push({ item, reason: refusalReason(item, reason) });
  }
  await completeRenameBatch(deps.db, { ...batchIds(send, batchNo), renamed, refused });
  return { ...outcome, rejectedCount: refused.length };
}

/**
 * Which of these renames Braze has already done: their old id names a profile whose primary id
 * is the new one. Without the `users.export.ids` permission nothing can be confirmed, and the
 * refusals stand (the new id then gets every attribute, which is also right for a done rename).
 */
async function alreadyRenamed(
  send: Send,
  items: RenameItem[],
): Promise<{ items: Set<RenameItem>; requests: number; rateLimit?: RateLimitInfo }> {
  try {
    const olds = items.map((item) => item.from);
    const found = await send.client.primaryIds(olds, { signal: send.signal });
    const done = items.filter(
      (item) => !found.unknownIds.has(item.from) && found.primaryIds.has(item.to),
    );
    return { items: new Set(done), requests: 1, rateLimit: found.rateLimit };
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    log.warn('Resent renames not confirmed: the key cannot use /users/export/ids', {
      syncId: send.input.syncId,
      renameCount: items.length,
    });
    return { items: new Set(), requests: 1 };
  }
}

/**
 * The row error of a refused rename. External ids may be emails or phone numbers, so Braze's
 * reason has them replaced by the field names before it is stored.
 */
function refusalReason(item: RenameItem, brazeReason: string): string {
  // One pass, longest id first, so an id inside the other or inside a field name is not hit.
  const ids = [item.from, item.to].sort((a, b) => b.length - a.length);
  const escaped = ids.map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const pattern = new RegExp(escaped.join('|'), 'g');
  const masked = brazeReason.replace(pattern, (id) =>
    id === item.from ? 'current_external_id' : 'new_external_id',
  );
  return `external id rename refused by Braze (${masked}); every attribute goes to the new id`;
}

/**
 * Merges each item's profile into its kept master's, using the external ids Braze last
 * accepted. A kept master that is not in Braze (its attribute update was rejected or failed)
 * defers the merge to the next run rather than merging into nothing. An item whose state row
 * is already gone was merged by an earlier attempt, and one whose external id the kept master
 * or another master holds is already that master's profile; neither needs a request.
 */
async function sendMerges(send: Send, batchNo: number, items: MergeItem[]): Promise<BatchOutcome> {
  const { deps, input } = send;
  const ids = items.flatMap((item) => [item.masterId, item.keepMasterId]);
  const sent = await loadSentExternalIds(deps.db, input.syncId, ids);
  const leaving = items.map((item) => item.masterId);
  const shared = await externalIdsHeldByOthers(deps.db, input.syncId, [...sent.values()], leaving);
  const merged: MergeItem[] = [];
  const deferred: Array<{ item: MergeItem; reason: string }> = [];
  const pairs: MergePair[] = [];
  for (const item of items) {
    const keepExternalId = sent.get(item.keepMasterId);
    const mergeExternalId = sent.get(item.masterId);
    if (keepExternalId === undefined) {
      const reason = `merge into ${item.keepMasterId} deferred: its profile is not in Braze yet`;
      if (mergeExternalId !== undefined) deferred.push({ item, reason });
      continue;
    }
    merged.push(item);
    if (mergeExternalId !== undefined && !shared.has(mergeExternalId)) {
      pairs.push({ mergeExternalId, keepExternalId });
    }
  }

  let outcome: BatchOutcome = { requests: 0, rejectedCount: deferred.length };
  if (pairs.length > 0) {
    await markSending(deps.db, input.runId, batchNo);
    const result = await send.client.mergeUsers(pairs, { signal: send.signal });
    outcome = { ...outcome, requests: 1, rateLimit: result.rateLimit };
  }
  await completeMergeBatch(deps.db, {
    runId: input.runId,
    syncId: input.syncId,
    batchNo,
    merged,
    deferred,
    nowMs: clock(deps),
  });
  return outcome;
}

/**
 * Deletes the profiles of retired masters that Braze still holds, by their sent external ids,
 * except a profile another master still holds (it only drops the retired master's state).
 */
async function sendDeletes(
  send: Send,
  batchNo: number,
  items: DeleteItem[],
): Promise<BatchOutcome> {
  const { deps, input } = send;
  const leaving = items.map((item) => item.masterId);
  const sent = await loadSentExternalIds(deps.db, input.syncId, leaving);
  const shared = await externalIdsHeldByOthers(deps.db, input.syncId, [...sent.values()], leaving);
  const externalIds = [...new Set(sent.values())].filter((id) => !shared.has(id));

  let outcome: BatchOutcome = { requests: 0, rejectedCount: 0 };
  if (externalIds.length > 0) {
    await markSending(deps.db, input.runId, batchNo);
    const result = await send.client.deleteUsers(externalIds, { signal: send.signal });
    outcome = { ...outcome, requests: 1, rateLimit: result.rateLimit };
  }
  await completeDeleteBatch(deps.db, {
    runId: input.runId,
    syncId: input.syncId,
    batchNo,
    deleted: items,
    nowMs: clock(deps),
  });
  return outcome;
}

const NOT_IN_BRAZE_YET = 'deferred: the profile is not in Braze yet';

/**
 * Sends a batch of custom events or purchases (one array) to the profiles Braze holds, by the
 * external id it last accepted for each master. Events of a master with no destination state
 * (its attribute update was rejected or has not been sent) are deferred: not sent, not in the
 * ledger, planned again next run. Braze's per-item errors are validation errors that would
 * fail again, so those events go into the ledger as rejected (store/event-delivery.ts).
 */
async function sendEvents(send: Send, batchNo: number, items: EventItem[]): Promise<BatchOutcome> {
  const { deps, input } = send;
  const held = await loadSentExternalIds(
    deps.db,
    input.syncId,
    items.map((item) => item.masterId),
  );
  const ready: Array<{ item: EventItem; externalId: string }> = [];
  const deferred: RejectedEvent[] = [];
  for (const item of items) {
    const externalId = held.get(item.masterId);
    if (externalId === undefined) deferred.push({ item, reason: NOT_IN_BRAZE_YET });
    else ready.push({ item, externalId });
  }

  const rejected: RejectedEvent[] = [];
  let outcome: BatchOutcome = { requests: 0, rejectedCount: 0 };
  if (ready.length > 0) {
    await markSending(deps.db, input.runId, batchNo);
    const purchases = items[0]!.kind === 'purchase';
    const result = purchases
      ? await send.client.trackEvents(
          'purchases',
          ready.map(({ item, externalId }) => toPurchaseObject(externalId, item.purchase!)),
          { signal: send.signal },
        )
      : await send.client.trackEvents(
          'events',
          ready.map(({ item, externalId }) => toEventObject(externalId, item.event!)),
          { signal: send.signal },
        );
    for (const error of result.itemErrors) {
      rejected.push({ item: ready[error.index]!.item, reason: error.reason });
    }
    outcome = { requests: 1, rejectedCount: rejected.length, rateLimit: result.rateLimit };
  }
  const refused = new Set(rejected.map((r) => r.item));
  await completeEventBatch(deps.db, {
    runId: input.runId,
    syncId: input.syncId,
    batchNo,
    sent: ready.map((r) => r.item).filter((item) => !refused.has(item)),
    rejected,
    deferred,
    nowMs: clock(deps),
  });
  return outcome;
}
