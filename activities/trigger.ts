import type { Client } from '@temporalio/client';
import { ConfigError } from '../connectors/errors';
import { requestSyncRun } from '../client/sync-control';
import type { ActivityDeps } from './deps';
import { withFailures } from './failure';

export interface RequestRunInput {
  syncId: string;
  trigger: string;
  requestId: string;
}

/**
 * Asks the sync's controller workflow for a run (starting the controller if needed). Scheduled
 * runs go through here so that every run of a sync, manual or scheduled, is queued by the one
 * controller and two runs of the same sync never deliver at once.
 */
export async function requestRun(
  deps: ActivityDeps & { temporal?: { client: Client; taskQueue: string } },
  input: RequestRunInput,
): Promise<void> {
  return withFailures(async () => {
    if (!deps.temporal) throw new ConfigError('This worker has no Temporal client for triggers');
    await requestSyncRun(deps.temporal.client, deps.temporal.taskQueue, input);
  });
}
