import type { Client } from '@temporalio/client';
import type { ActivityDeps } from './deps';
import { deliverWindow } from './deliver';
import { extractSource, recordExtractCounts, type ExtractSourceResult } from './extract';
import { planDelivery } from './plan';
import { prepareDataset } from './prepare';
import { finishRun, startRun } from './run';
import { requestRun } from './trigger';
import { unifyDataset } from './unify';
import { withFailures } from './failure';

export type { DeliverWindowInput, DeliverWindowResult } from './deliver';
export type { ExtractSourceInput, ExtractSourceResult } from './extract';
export type { PlanDeliveryInput, PlanDeliveryResult } from './plan';
export type { PrepareDatasetInput, PrepareDatasetResult } from './prepare';
export type { FinishRunInput, RunReport, StartRunInput, StartRunResult } from './run';
export type { RequestRunInput } from './trigger';
export type { UnifyDatasetInput, UnifyDatasetResult } from './unify';

export type WorkerDeps = ActivityDeps & { temporal?: { client: Client; taskQueue: string } };

/** Binds every activity to its dependencies; the worker registers the returned object. */
export function createActivities(deps: WorkerDeps) {
  return {
    startRun: (input: Parameters<typeof startRun>[1]) => startRun(deps, input),
    extractSource: (input: Parameters<typeof extractSource>[1]) => extractSource(deps, input),
    recordExtractCounts: (input: { runId: string; results: ExtractSourceResult[] }) =>
      withFailures(() => recordExtractCounts(deps, input.runId, input.results)),
    unifyDataset: (input: Parameters<typeof unifyDataset>[1]) => unifyDataset(deps, input),
    prepareDataset: (input: Parameters<typeof prepareDataset>[1]) => prepareDataset(deps, input),
    planDelivery: (input: Parameters<typeof planDelivery>[1]) => planDelivery(deps, input),
    deliverWindow: (input: Parameters<typeof deliverWindow>[1]) => deliverWindow(deps, input),
    finishRun: (input: Parameters<typeof finishRun>[1]) => finishRun(deps, input),
    requestRun: (input: Parameters<typeof requestRun>[1]) => requestRun(deps, input),
  };
}

export type BraidActivities = ReturnType<typeof createActivities>;
