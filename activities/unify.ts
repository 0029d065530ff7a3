import { Context, log } from '@temporalio/activity';
import { ConfigError } from '../connectors/errors';
import { unifyDataset as unify, type UnifySummary } from '../identity/unify-dataset';
import { recordRowErrors, setCounts } from '../store/runs';
import { clock, type ActivityDeps } from './deps';
import { withFailures } from './failure';

export interface UnifyDatasetInput {
  runId: string;
  dataset: string;
}

export interface UnifyDatasetResult {
  goldenRecords: number;
  created: number;
  merged: number;
  split: number;
  ambiguous: number;
}

/**
 * Unifies the dataset's staged records into golden records (identity/unify-dataset.ts): only
 * what changed since the last run, or everything when the rules changed. The work is one
 * transaction, so a retried attempt either finds it done or starts clean. It heartbeats as it
 * goes; only counts leave the activity.
 */
export async function unifyDataset(
  deps: ActivityDeps,
  input: UnifyDatasetInput,
): Promise<UnifyDatasetResult> {
  return withFailures(async () => {
    const dataset = deps.config.datasets[input.dataset];
    if (!dataset) throw new ConfigError(`Unknown dataset "${input.dataset}"`);
    const summary = await unify(deps.db, input.dataset, dataset, {
      runId: input.runId,
      nowMs: clock(deps),
      heartbeat: (progress) => Context.current().heartbeat(progress),
    });
    await deps.db.transaction(async (trx) => {
      await trx('row_errors').where({ run_id: input.runId, stage: 'unify' }).delete();
      await recordRowErrors(
        trx,
        input.runId,
        summary.ambiguousRecords.map((a) => ({
          stage: 'unify' as const,
          recordKey: a.record,
          reason: `ambiguous: could belong to ${a.candidates.filter((c) => c).join(' or ') || 'several people'}`,
        })),
      );
    });
    await setCounts(deps.db, input.runId, {
      goldenRecords: summary.goldenRecords,
      goldenCreated: summary.created,
      goldenMerged: summary.merged,
      goldenSplit: summary.split,
      goldenRetired: summary.retired,
      recordsAmbiguous: summary.ambiguous,
      mergesRefused: summary.limitRefused + summary.lockRefused,
      unifyMode: summary.mode,
      recordsUnified: summary.recordsUnified,
    });
    for (const warning of summary.warnings)
      log.warn('Identity rules', { dataset: input.dataset, warning });
    log.info('Dataset unified', { dataset: input.dataset, ...countsOf(summary) });
    return {
      goldenRecords: summary.goldenRecords,
      created: summary.created,
      merged: summary.merged,
      split: summary.split,
      ambiguous: summary.ambiguous,
    };
  });
}

function countsOf(summary: UnifySummary) {
  const {
    ambiguousRecords: _a,
    largestClusters: _l,
    sampleJoins: _s,
    warnings: _w,
    ...counts
  } = summary;
  return counts;
}
