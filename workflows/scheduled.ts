import { proxyActivities, uuid4, workflowInfo } from '@temporalio/workflow';
import type { BraidActivities } from '../activities';
import { STEP_OPTIONS } from './options';

const { requestRun } = proxyActivities<BraidActivities>(STEP_OPTIONS);

/**
 * What a Temporal Schedule starts: it only queues a run with the sync's controller, so
 * scheduled and manual runs of one sync are serialized in one place.
 */
export async function scheduledRunWorkflow(input: { syncId: string }): Promise<string> {
  const requestId = `sched-${workflowInfo().runId.slice(0, 8)}-${uuid4().slice(0, 8)}`;
  await requestRun({ syncId: input.syncId, trigger: 'schedule', requestId });
  return requestId;
}
