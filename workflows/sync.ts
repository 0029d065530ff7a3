import {
  ContinueAsNew,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { BraidActivities, RunReport } from '../activities';
import { nextWindowDelayMs } from '../domain/pacing';
import { syncProgressQuery, type SyncProgress } from './definitions';
import { DELIVER_OPTIONS, EXTRACT_OPTIONS, STEP_OPTIONS, WINDOWS_PER_EXECUTION } from './options';

const steps = proxyActivities<BraidActivities>(STEP_OPTIONS);
const extract = proxyActivities<BraidActivities>(EXTRACT_OPTIONS);
const deliver = proxyActivities<BraidActivities>(DELIVER_OPTIONS);

/** Where a run continues after continue-as-new; only ids, counts and times. */
export interface DeliveryCarry {
  runId: string;
  startedAtMs: number;
  requestVolume: number;
  timeWindowMs: number;
  windows: number;
  requestsSent: number;
  rateLimitedWaits: number;
  batchesPlanned: number;
}

export interface SyncWorkflowInput {
  syncId: string;
  trigger: string;
  carry?: DeliveryCarry;
}

/**
 * One run of a sync: extract → stage → unify → plan → deliver in paced windows → report.
 * Rows never pass through here: activities read and write them in the customer database, and
 * the workflow sees ids and counts. Delivery sleeps on durable timers between windows of
 * `requestVolume` requests per `timeWindow`, and continues as new every WINDOWS_PER_EXECUTION
 * windows so its history stays small.
 */
export async function syncWorkflow(input: SyncWorkflowInput): Promise<RunReport> {
  const info = workflowInfo();
  const runId = input.carry?.runId ?? info.workflowId;
  const progress: SyncProgress = {
    syncId: input.syncId,
    runId,
    phase: input.carry ? 'delivering' : 'starting',
    batchesPlanned: input.carry?.batchesPlanned ?? 0,
    requestsSent: input.carry?.requestsSent ?? 0,
    windows: input.carry?.windows ?? 0,
    rateLimitedWaits: input.carry?.rateLimitedWaits ?? 0,
  };
  setHandler(syncProgressQuery, () => progress);

  const startedAtMs = input.carry?.startedAtMs ?? Date.now();
  let outcome: { status: 'succeeded' | 'failed'; error?: string } = { status: 'succeeded' };
  try {
    const carry = input.carry ?? (await prepare(input, runId, startedAtMs, progress));
    await deliverAll(input, carry, progress);
  } catch (error) {
    if (error instanceof ContinueAsNew) throw error;
    outcome = { status: 'failed', error: describe(error) };
    log.error('Run failed', { syncId: input.syncId, error: outcome.error });
  }

  progress.phase = 'finishing';
  const report = await steps.finishRun({
    runId,
    syncId: input.syncId,
    workflowId: info.workflowId,
    trigger: input.trigger,
    ...outcome,
    startedAtMs,
    finishedAtMs: Date.now(),
    rateLimitedWaits: progress.rateLimitedWaits,
  });
  progress.phase = 'done';
  return report;
}

async function prepare(
  input: SyncWorkflowInput,
  runId: string,
  startedAtMs: number,
  progress: SyncProgress,
): Promise<DeliveryCarry> {
  const run = await steps.startRun({
    runId,
    syncId: input.syncId,
    trigger: input.trigger,
    startedAtMs,
  });

  progress.phase = 'extracting';
  const results = [];
  for (const source of run.sources) results.push(await extract.extractSource({ runId, source }));
  await steps.recordExtractCounts({ runId, results });

  progress.phase = 'unifying';
  await steps.unifyDataset({ runId, dataset: run.dataset });
  // Runs started before the prepare step existed replay without it. The phase is query state
  // only, not a workflow command, so setting it keeps replays deterministic.
  if (patched('prepare-dataset')) {
    progress.phase = 'preparing';
    await steps.prepareDataset({ runId, dataset: run.dataset });
  }

  progress.phase = 'planning';
  const plan = await steps.planDelivery({ runId, syncId: input.syncId });
  progress.batchesPlanned = plan.batches;

  return {
    runId,
    startedAtMs,
    requestVolume: run.requestVolume,
    timeWindowMs: run.timeWindowMs,
    windows: 0,
    requestsSent: 0,
    rateLimitedWaits: 0,
    batchesPlanned: plan.batches,
  };
}

async function deliverAll(
  input: SyncWorkflowInput,
  carry: DeliveryCarry,
  progress: SyncProgress,
): Promise<void> {
  progress.phase = 'delivering';
  let windowsHere = 0;
  for (;;) {
    const windowStartedMs = Date.now();
    const result = await deliver.deliverWindow({
      runId: carry.runId,
      syncId: input.syncId,
      maxRequests: carry.requestVolume,
    });
    progress.windows += 1;
    progress.requestsSent += result.requestsSent;
    if (result.waitUntilMs !== undefined) progress.rateLimitedWaits += 1;
    if (result.done) return;

    const delayMs = nextWindowDelayMs({
      windowStartedMs,
      timeWindowMs: carry.timeWindowMs,
      nowMs: Date.now(),
      waitUntilMs: result.waitUntilMs,
    });
    if (delayMs > 0) await sleep(delayMs);

    windowsHere += 1;
    if (windowsHere >= WINDOWS_PER_EXECUTION) {
      await continueAsNew<typeof syncWorkflow>({
        syncId: input.syncId,
        trigger: input.trigger,
        carry: {
          ...carry,
          windows: progress.windows,
          requestsSent: progress.requestsSent,
          rateLimitedWaits: progress.rateLimitedWaits,
        },
      });
    }
  }
}

function describe(error: unknown): string {
  let current: unknown = error;
  // Activity failures wrap the real cause; the innermost message is the useful one.
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(error);
}
