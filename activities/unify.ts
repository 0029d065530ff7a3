import { randomUUID } from 'node:crypto';
import { log } from '@temporalio/activity';
import { ConfigError } from '../connectors/errors';
import { matchKeyValues } from '../domain/match-keys';
import { assignMasterIds, clusterRecords, surviveAttributes, type UnifyRecord } from '../domain/unify';
import {
  loadLinks,
  loadMasterRanks,
  loadStagedRecords,
  saveUnifyResult,
  type GoldenWrite,
  type IdentityEvent,
} from '../store/identity';
import { setCounts } from '../store/runs';
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
}

/**
 * Rebuilds the dataset's clusters from all staged records and writes golden records with
 * stable master ids (see domain/unify.ts for how ids survive merges and splits). The result is
 * written in one transaction, so a retried attempt either finds it done or starts clean.
 */
export async function unifyDataset(deps: ActivityDeps, input: UnifyDatasetInput): Promise<UnifyDatasetResult> {
  return withFailures(async () => {
    const dataset = deps.config.datasets[input.dataset];
    if (!dataset) throw new ConfigError(`Unknown dataset "${input.dataset}"`);
    const nowMs = clock(deps);

    const staged = await loadStagedRecords(deps.db, dataset.sources);
    const links = await loadLinks(deps.db, input.dataset);
    const ranks = await loadMasterRanks(deps.db, input.dataset);
    const records: UnifyRecord[] = staged.map((r) => ({
      id: r.id,
      keys: matchKeyValues(r.values, dataset.keys),
      recencyMs: r.sourceUpdatedAtMs ?? r.stagedAtMs,
      values: r.values,
      previousMasterId: links.get(r.id),
    }));

    const clusters = clusterRecords(records);
    const assignments = assignMasterIds(clusters, records, (id) => ranks.get(id) ?? Number.MAX_SAFE_INTEGER);
    const rule = `keys:${dataset.keys.map((k) => k.name).join('|')}`;
    const golden: GoldenWrite[] = [];
    const events: IdentityEvent[] = [];
    const retired: Array<{ masterId: string; mergedInto: string | null }> = [];
    const kept = new Set<string>();

    for (const assignment of assignments) {
      const indexes = clusters[assignment.cluster]!;
      const members = indexes.map((i) => records[i]!);
      const masterId = assignment.masterId ?? randomUUID();
      kept.add(masterId);
      golden.push({
        masterId,
        isNew: assignment.masterId === undefined,
        attributes: surviveAttributes(members, dataset.survivorship),
        sourceKeys: indexes.map((i) => `${staged[i]!.source}:${staged[i]!.recordKey}`),
        memberIds: members.map((m) => m.id),
      });
      for (const other of assignment.mergedIds) {
        events.push({ kind: 'merge', masterId, otherMasterId: other, rule });
        retired.push({ masterId: other, mergedInto: masterId });
      }
      for (const other of assignment.splitFrom) events.push({ kind: 'split', masterId, otherMasterId: other, rule });
    }
    const mergedAway = new Set(retired.map((r) => r.masterId));
    for (const previous of new Set(links.values())) {
      if (!kept.has(previous) && !mergedAway.has(previous)) {
        retired.push({ masterId: previous, mergedInto: null });
      }
    }

    await saveUnifyResult(deps.db, { dataset: input.dataset, runId: input.runId, nowMs, golden, retired, events });
    const result: UnifyDatasetResult = {
      goldenRecords: golden.length,
      created: golden.filter((g) => g.isNew).length,
      merged: events.filter((e) => e.kind === 'merge').length,
      split: events.filter((e) => e.kind === 'split').length,
    };
    await setCounts(deps.db, input.runId, {
      goldenRecords: result.goldenRecords,
      goldenCreated: result.created,
      goldenMerged: result.merged,
      goldenSplit: result.split,
    });
    log.info('Dataset unified', { dataset: input.dataset, recordCount: records.length, ...result });
    return result;
  });
}
