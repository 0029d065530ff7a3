/**
 * One measured step of the speed bench, run in a process of its own so that its peak memory
 * (the RSS high-water mark) is its own: `node dist/bench/speed-case.js '<CaseInput as JSON>'`.
 * Prints one JSON line, a {@link CaseOutput}.
 */
import { migrate } from '../store/db';
import { unionFindBaseline } from './baseline';
import { openTarget, type BenchTarget } from './bench-db';
import { generateRecords } from './generate';
import {
  generatedDataset,
  recordsAfterBatch,
  secondsSince,
  stageGenerated,
  unifyBatch,
  unifyFull,
} from './speed';
import { runCaseMain } from './case-main';

export type CaseInput =
  | { step: 'baseline'; records: number; batch: number; seed: number }
  | { step: 'stage' | 'full'; records: number; seed: number; target: BenchTarget }
  | { step: 'incremental'; records: number; batch: number; seed: number; target: BenchTarget };

export interface CaseOutput {
  step: CaseInput['step'];
  seconds: number;
  /** Peak resident memory of the whole process, in MiB. */
  peakRssMb: number;
  /**
   * Full and baseline: CPU seconds of the step, all threads of the process together. A full
   * unify runs its per-record work in a thread beside its own (identity/record-worker.ts).
   */
  cpuSeconds?: number;
  /** Full only: where the per-record work ran, and how records were joined. */
  workedIn?: string;
  joinedIn?: string;
  /** Full with a record thread: pages and batches the unify's own thread did itself. */
  doneHere?: number;
  /** Golden records (or baseline clusters) after the step. */
  clusters?: number;
  /** Baseline only: clusters of the records as they stand after the incremental batch. */
  clustersAfterBatch?: number;
  /** Incremental only: staging the batch, timed apart from unifying it. */
  stageSeconds?: number;
  /** Incremental only: `incremental` unless the engine fell back to a rebuild. */
  mode?: string;
  recordsUnified?: number;
  merged?: number;
  split?: number;
  created?: number;
  refused?: number;
}

async function runCase(input: CaseInput): Promise<Omit<CaseOutput, 'peakRssMb'>> {
  const dataset = generatedDataset(input.seed);
  if (input.step === 'baseline') {
    const records = [...generateRecords(input.records, input.seed)].map((r) => r.values);
    const cpu = process.cpuUsage();
    const result = unionFindBaseline(dataset, records);
    const cpuSeconds = cpuSecondsSince(cpu);
    records.length = 0;
    const after = recordsAfterBatch(input.records, input.batch, input.seed).map((r) => r.values);
    const check = unionFindBaseline(dataset, after);
    const { seconds, clusters } = result;
    return { step: 'baseline', seconds, cpuSeconds, clusters, clustersAfterBatch: check.clusters };
  }

  const db = openTarget(input.target);
  try {
    if (input.step === 'stage') {
      await migrate(db);
      const started = process.hrtime.bigint();
      await stageGenerated(db, input.records, input.seed);
      return { step: 'stage', seconds: secondsSince(started) };
    }
    if (input.step === 'full') {
      const cpu = process.cpuUsage();
      const { seconds, summary } = await unifyFull(db, dataset);
      return {
        step: 'full',
        seconds,
        cpuSeconds: cpuSecondsSince(cpu),
        workedIn: summary.rebuild?.workedIn,
        doneHere: summary.rebuild?.doneHere,
        joinedIn: summary.rebuild?.joinedIn,
        clusters: summary.goldenRecords,
        recordsUnified: summary.recordsUnified,
        refused: summary.limitRefused + summary.lockRefused + summary.ambiguous,
      };
    }
    if (input.step !== 'incremental') throw new Error(`unknown bench step ${String(input.step)}`);
    const run = await unifyBatch(db, dataset, input.records, input.batch, input.seed);
    return {
      step: 'incremental',
      seconds: run.seconds,
      stageSeconds: run.stageSeconds,
      mode: run.summary.mode,
      clusters: run.summary.goldenRecords,
      recordsUnified: run.summary.recordsUnified,
      merged: run.summary.merged,
      split: run.summary.split,
      created: run.summary.created,
      refused: run.summary.limitRefused + run.summary.lockRefused + run.summary.ambiguous,
    };
  } finally {
    await db.destroy();
  }
}

/** CPU seconds (user and system, every thread) since a process.cpuUsage() reading. */
function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

if (require.main === module) runCaseMain(runCase);
