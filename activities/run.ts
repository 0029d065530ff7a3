import { log } from '@temporalio/activity';
import { resolveSync } from '../config/load';
import { summarizeIdentityChanges, summarizeOutbox } from '../store/delivery';
import { summarizeEvents } from '../store/event-delivery';
import {
  closeRun,
  extractProgress,
  getRun,
  listRowErrors,
  openRun,
  type RunCounts,
} from '../store/runs';
import { readEmulatorDataPoints } from './emulator-stats';
import type { ActivityDeps } from './deps';
import { withFailures } from './failure';

export interface StartRunInput {
  runId: string;
  syncId: string;
  trigger: string;
  startedAtMs: number;
}

export interface StartRunResult {
  sources: string[];
  dataset: string;
  requestVolume: number;
  timeWindowMs: number;
}

/** Opens the run's row and tells the workflow what to do (sources, dataset, pacing). */
export async function startRun(deps: ActivityDeps, input: StartRunInput): Promise<StartRunResult> {
  return withFailures(async () => {
    const { sync, dataset, destination } = resolveSync(deps.config, input.syncId);
    // The emulator's counter before the run; a retry keeps the first reading (openRun ignores
    // a second insert), so the report's data-point figure covers the whole run.
    const dataPointsBefore = await readEmulatorDataPoints(destination.endpoint);
    await openRun(deps.db, { ...input, dataPointsBefore });
    log.info('Run started', { syncId: input.syncId, runId: input.runId, trigger: input.trigger });
    return {
      // Linked events datasets are read in the same run, so computed fields see new orders.
      sources: [
        ...new Set([
          ...dataset.sources,
          ...Object.values(dataset.links).flatMap(
            (link) => deps.config.datasets[link.dataset]?.sources ?? [],
          ),
        ]),
      ],
      dataset: sync.dataset,
      requestVolume: destination.requestVolume,
      timeWindowMs: Math.round(destination.timeWindowSeconds * 1000),
    };
  });
}

export interface FinishRunInput {
  runId: string;
  syncId: string;
  workflowId: string;
  trigger: string;
  status: 'succeeded' | 'failed';
  error?: string;
  startedAtMs: number;
  finishedAtMs: number;
  rateLimitedWaits: number;
}

/** The run report: what `braid run --json` prints and what the runs table keeps. */
export interface RunReport {
  sync: string;
  status: 'succeeded' | 'failed';
  workflowId: string;
  runId: string;
  trigger: string;
  recordsRead: number;
  recordsRejected: number;
  filesImported: number;
  pagesRead: number;
  goldenRecords: number;
  goldenCreated: number;
  goldenMerged: number;
  goldenSplit: number;
  goldenRetired: number;
  /** Records held back because they could belong to several people; listed in `ambiguous`. */
  recordsAmbiguous: number;
  /** Merges refused by a key limit or by a locked cluster. */
  mergesRefused: number;
  /** How the unify ran (`full`: every record re-clustered), null when it did not run. */
  unifyMode: 'full' | 'incremental' | 'unchanged' | null;
  /** Source records re-clustered. */
  recordsUnified: number;
  /** Golden records prepared, and how many of them changed (or were removed) this run. */
  recordsPrepared: number;
  preparedChanged: number;
  /** Customers whose computed fields were recomputed; -1: all (the settings changed). */
  customersRecomputed: number;
  /** Events found unusable this run (no customer, no readable date); listed in rejections. */
  eventsUnusable: number;
  recordsPlanned: number;
  recordsSkipped: number;
  requestsSent: number;
  attributesSent: number;
  recordsDelivered: number;
  recordsRejectedByDestination: number;
  batchesFailed: number;
  /** Braze profiles merged into their surviving master's profile (`/users/merge`). */
  profilesMerged: number;
  /** Braze profiles of retired golden records deleted (`/users/delete`). */
  profilesDeleted: number;
  /** Braze profiles renamed to a master's new external id (`/users/external_ids/rename`). */
  profilesRenamed: number;
  /** Custom events Braze accepted; each is in the sync's ledger and never sent again. */
  eventsSent: number;
  /** Custom events refused as invalid, at planning or by Braze; resent only once they change. */
  eventsRejected: number;
  /** Custom events held back because their profile is not in Braze yet; planned next run. */
  eventsDeferred: number;
  /**
   * Custom events in range whose customer key matches no active golden record with the
   * sync's identifier (yet): not sent, not row errors; planned once the customer arrives.
   */
  eventsUnmatched: number;
  purchasesSent: number;
  purchasesRejected: number;
  purchasesDeferred: number;
  purchasesUnmatched: number;
  rateLimitedWaits: number;
  dataPointsWritten: number | null;
  durationMs: number;
  ambiguous: Array<{ record: string; reason: string }>;
  rejections: Array<{
    stage: string;
    file?: string;
    line?: number;
    record?: string;
    field?: string;
    reason: string;
  }>;
  error?: string;
}

const REPORTED_REJECTIONS = 50;

/** Closes the run and builds its report from the database, so a retry reports the same. */
export async function finishRun(deps: ActivityDeps, input: FinishRunInput): Promise<RunReport> {
  return withFailures(async () => {
    const { destination } = resolveSync(deps.config, input.syncId);
    // A run that failed before startRun committed has no row yet; the report still needs one.
    await openRun(deps.db, input);
    const run = (await getRun(deps.db, input.runId))!;
    const outbox = await summarizeOutbox(deps.db, input.runId);
    const identity = await summarizeIdentityChanges(deps.db, input.runId);
    const events = await summarizeEvents(deps.db, input.runId);
    const before = run.dataPointsBefore;
    const after = before === null ? null : await readEmulatorDataPoints(destination.endpoint);
    const errors = await listRowErrors(deps.db, input.runId, REPORTED_REJECTIONS);
    // A failed run may have stopped before its per-source results were summed (a later
    // source failed): what its sources staged is then read back from their progress.
    const counts =
      input.status === 'failed' && !extractCounted(run.counts)
        ? { ...run.counts, ...(await extractProgress(deps.db, input.runId)) }
        : run.counts;

    const report: RunReport = {
      sync: input.syncId,
      status: input.status,
      workflowId: input.workflowId,
      runId: input.runId,
      trigger: run.trigger,
      recordsRead: counts.recordsRead,
      recordsRejected: counts.recordsRejected,
      filesImported: counts.filesImported,
      pagesRead: counts.pagesRead,
      goldenRecords: counts.goldenRecords,
      goldenCreated: counts.goldenCreated,
      goldenMerged: counts.goldenMerged,
      goldenSplit: counts.goldenSplit,
      goldenRetired: counts.goldenRetired ?? 0,
      recordsAmbiguous: counts.recordsAmbiguous ?? 0,
      mergesRefused: counts.mergesRefused ?? 0,
      unifyMode: counts.unifyMode ?? null,
      recordsUnified: counts.recordsUnified ?? 0,
      recordsPrepared: counts.recordsPrepared ?? 0,
      preparedChanged: counts.preparedChanged ?? 0,
      customersRecomputed: counts.customersRecomputed ?? 0,
      eventsUnusable: counts.eventsUnusable ?? 0,
      recordsPlanned: counts.recordsPlanned,
      recordsSkipped: counts.recordsSkipped,
      requestsSent: outbox.requestsSent,
      attributesSent: outbox.attributesSent,
      recordsDelivered: outbox.itemsAccepted,
      recordsRejectedByDestination: outbox.itemsRejected,
      batchesFailed: outbox.failed,
      profilesMerged: identity.profilesMerged,
      profilesDeleted: identity.profilesDeleted,
      profilesRenamed: identity.profilesRenamed,
      ...events,
      eventsUnmatched: counts.eventsUnmatched ?? 0,
      purchasesUnmatched: counts.purchasesUnmatched ?? 0,
      rateLimitedWaits: input.rateLimitedWaits,
      dataPointsWritten: before === null || after === null ? null : after - before,
      durationMs: input.finishedAtMs - input.startedAtMs,
      ambiguous: errors
        .filter((e) => e.stage === 'unify')
        .map((e) => ({ record: e.recordKey ?? '', reason: e.reason })),
      rejections: errors
        .filter((e) => e.stage !== 'unify')
        .map((e) => ({
          stage: e.stage,
          file: e.fileName,
          line: e.line,
          record: e.recordKey,
          field: e.field,
          reason: e.reason,
        })),
      ...(input.error ? { error: input.error } : {}),
    };
    await closeRun(deps.db, input.runId, input.status, input.finishedAtMs, report);
    const level = input.status === 'failed' ? 'error' : 'info';
    log[level]('Run finished', { syncId: input.syncId, runId: input.runId, status: input.status });
    return report;
  });
}

/** Whether the run row holds extraction figures (recordExtractCounts ran). */
function extractCounted(counts: RunCounts): boolean {
  return counts.filesImported + counts.pagesRead + counts.recordsRead + counts.recordsRejected > 0;
}
