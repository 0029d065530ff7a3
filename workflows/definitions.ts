import { defineQuery, defineSignal } from '@temporalio/workflow';

/** A request for one run of a sync; `requestId` lets the caller find the run it asked for. */
export interface RunRequest {
  requestId: string;
  trigger: string;
}

export interface RunSummary {
  requestId: string;
  workflowId: string;
  trigger: string;
  status: 'running' | 'succeeded' | 'failed';
  startedAt: string;
  finishedAt?: string;
  recordsRead?: number;
  goldenRecords?: number;
  requestsSent?: number;
  error?: string;
}

export interface ControllerStatus {
  syncId: string;
  running: RunSummary | null;
  queued: RunRequest[];
  recent: RunSummary[];
}

export interface SyncProgress {
  syncId: string;
  runId: string;
  phase:
    | 'starting'
    | 'extracting'
    | 'unifying'
    | 'preparing'
    | 'planning'
    | 'delivering'
    | 'finishing'
    | 'done';
  batchesPlanned: number;
  requestsSent: number;
  windows: number;
  rateLimitedWaits: number;
}

export const runSyncSignal = defineSignal<[RunRequest]>('runSync');
export const controllerStatusQuery = defineQuery<ControllerStatus>('status');
export const syncProgressQuery = defineQuery<SyncProgress>('progress');

export const controllerWorkflowId = (syncId: string) => `braid-sync-${syncId}`;
export const runWorkflowId = (syncId: string, requestId: string) =>
  `braid-sync-${syncId}-run-${requestId}`;
