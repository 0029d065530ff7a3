import {
  condition,
  continueAsNew,
  executeChild,
  log,
  ParentClosePolicy,
  setHandler,
} from '@temporalio/workflow';
import {
  controllerStatusQuery,
  runSyncSignal,
  runWorkflowId,
  type ControllerStatus,
  type RunRequest,
  type RunSummary,
} from './definitions';
import { RUNS_PER_CONTROLLER_EXECUTION } from './options';
import { syncWorkflow } from './sync';

export interface SyncControllerInput {
  syncId: string;
  /** State carried across continue-as-new. */
  queued?: RunRequest[];
  recent?: RunSummary[];
}

const RECENT_RUNS_KEPT = 20;

/**
 * One long-lived controller per sync. It takes run requests by signal (manual runs, scheduled
 * runs, pushes) and runs them one at a time as child workflows, so two runs of a sync never
 * deliver at once. Its `status` query answers `braid status` with the running, queued and
 * recent runs.
 */
export async function syncControllerWorkflow(input: SyncControllerInput): Promise<void> {
  const status: ControllerStatus = {
    syncId: input.syncId,
    running: null,
    queued: [...(input.queued ?? [])],
    recent: [...(input.recent ?? [])],
  };
  setHandler(controllerStatusQuery, () => status);
  setHandler(runSyncSignal, (request) => {
    const known =
      status.queued.some((r) => r.requestId === request.requestId) ||
      status.running?.requestId === request.requestId ||
      status.recent.some((r) => r.requestId === request.requestId);
    // Pushes arrive in bursts; one queued push run picks up everything staged before it starts.
    const pushQueued =
      request.trigger === 'push' && status.queued.some((r) => r.trigger === 'push');
    if (!known && !pushQueued) status.queued.push(request);
  });

  for (let handled = 0; handled < RUNS_PER_CONTROLLER_EXECUTION; handled++) {
    await condition(() => status.queued.length > 0);
    const request = status.queued.shift()!;
    const workflowId = runWorkflowId(input.syncId, request.requestId);
    const summary: RunSummary = {
      requestId: request.requestId,
      workflowId,
      trigger: request.trigger,
      status: 'running',
      startedAt: new Date().toISOString(),
    };
    status.running = summary;
    try {
      const report = await executeChild(syncWorkflow, {
        workflowId,
        args: [{ syncId: input.syncId, trigger: request.trigger }],
        // A run that is under way finishes even if the controller is reset or terminated.
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      Object.assign(summary, {
        status: report.status,
        recordsRead: report.recordsRead,
        goldenRecords: report.goldenRecords,
        requestsSent: report.requestsSent,
        ...(report.error ? { error: report.error } : {}),
      });
    } catch (error) {
      summary.status = 'failed';
      summary.error = error instanceof Error ? error.message : String(error);
      log.error('Run failed', { syncId: input.syncId, error: summary.error });
    }
    summary.finishedAt = new Date().toISOString();
    status.running = null;
    status.recent = [summary, ...status.recent].slice(0, RECENT_RUNS_KEPT);
  }

  await condition(() => status.running === null);
  await continueAsNew<typeof syncControllerWorkflow>({
    syncId: input.syncId,
    queued: status.queued,
    recent: status.recent,
  });
}
