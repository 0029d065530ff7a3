import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import type { RunReport } from '../activities';
import {
  controllerStatusQuery,
  controllerWorkflowId,
  runSyncSignal,
  runWorkflowId,
  type ControllerStatus,
  type SyncProgress,
  syncProgressQuery,
} from '../workflows/definitions';

/** Queues a run with the sync's controller, starting the controller when it is not running. */
export async function requestSyncRun(
  client: Client,
  taskQueue: string,
  request: { syncId: string; trigger: string; requestId: string },
): Promise<string> {
  await client.workflow.signalWithStart('syncControllerWorkflow', {
    workflowId: controllerWorkflowId(request.syncId),
    taskQueue,
    args: [{ syncId: request.syncId }],
    signal: runSyncSignal,
    signalArgs: [{ requestId: request.requestId, trigger: request.trigger }],
  });
  return runWorkflowId(request.syncId, request.requestId);
}

/** Waits for the run a request started and returns its report. */
export async function waitForRun(
  client: Client,
  workflowId: string,
  timeoutMs = 24 * 3600_000,
): Promise<RunReport> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await client.workflow.getHandle(workflowId).result();
    } catch (error) {
      // The controller starts the run once earlier runs of the sync are done.
      if (!(error instanceof WorkflowNotFoundError) || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** The controller's view of a sync, plus the progress of its running run if there is one. */
export async function syncStatus(
  client: Client,
  syncId: string,
): Promise<{ controller: ControllerStatus | null; progress: SyncProgress | null }> {
  let controller: ControllerStatus | null = null;
  try {
    controller = await client.workflow
      .getHandle(controllerWorkflowId(syncId))
      .query(controllerStatusQuery);
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
    return { controller: null, progress: null };
  }
  let progress: SyncProgress | null = null;
  if (controller.running) {
    progress = await client.workflow
      .getHandle(controller.running.workflowId)
      .query(syncProgressQuery)
      .catch(() => null);
  }
  return { controller, progress };
}

export const scheduleIdFor = (syncId: string) => `braid-schedule-${syncId}`;

/** Creates or updates the Temporal Schedule that queues a run of the sync on a cron. */
export async function scheduleSync(
  client: Client,
  taskQueue: string,
  syncId: string,
  cron: string,
): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = scheduleIdFor(syncId);
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'scheduledRunWorkflow',
    workflowId: `braid-scheduled-${syncId}`,
    args: [{ syncId }],
    taskQueue,
  };
  try {
    await client.schedule.create({
      scheduleId,
      spec: { cronExpressions: [cron] },
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    });
    return { scheduleId, created: true };
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await client.schedule.getHandle(scheduleId).update((previous) => ({
      ...previous,
      spec: { cronExpressions: [cron] },
      action,
    }));
    return { scheduleId, created: false };
  }
}
