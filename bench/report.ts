import type { AccuracyResult } from './accuracy';
import type { CaseOutput } from './speed-case';

/** Targets of the identity engine (Braid issue 3): named here so the table and JSON agree. */
export const TARGET_FULL_RATIO = 3;
export const TARGET_INCREMENTAL_SECONDS = 5;

/** The measured steps of one database at one size. */
export interface SpeedRow {
  database: 'SQLite' | 'PostgreSQL';
  records: number;
  batch: number;
  baseline: CaseOutput;
  stage: CaseOutput;
  full: CaseOutput;
  incremental: CaseOutput;
}

/** A plain text table: columns padded to their widest cell, numbers right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => {
        const numeric = i > 0 && /^[\d.,x<>= -]+$/.test(cell);
        return numeric ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
      })
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const fixed = (n: number, digits: number) => n.toFixed(digits);

export function accuracyTable(results: AccuracyResult[]): string {
  return table(
    ['file', 'records', 'true clusters', 'golden records', 'precision', 'recall', 'F1'],
    results.map((r) => [
      r.name,
      int(r.score.records),
      int(r.score.trueClusters),
      int(r.goldenRecords),
      fixed(r.score.precision, 4),
      fixed(r.score.recall, 4),
      fixed(r.score.f1, 4),
    ]),
  );
}

export function speedTable(rows: SpeedRow[]): string {
  return table(
    [
      'database',
      'records',
      'stage s',
      'full s',
      'full rec/s',
      'baseline rec/s',
      'full/baseline',
      'full CPU s',
      'CPU/baseline',
      'batch',
      'batch stage s',
      'incremental s',
      'records re-clustered',
      'golden = baseline',
    ],
    rows.map((r) => [
      r.database,
      int(r.records),
      fixed(r.stage.seconds, 1),
      fixed(r.full.seconds, 1),
      int(r.records / r.full.seconds),
      int(r.records / r.baseline.seconds),
      `${fixed(r.full.seconds / r.baseline.seconds, 1)}x`,
      fixed(r.full.cpuSeconds ?? 0, 1),
      `${fixed((r.full.cpuSeconds ?? 0) / (r.baseline.cpuSeconds ?? r.baseline.seconds), 1)}x`,
      int(r.batch),
      fixed(r.incremental.stageSeconds ?? 0, 2),
      fixed(r.incremental.seconds, 2),
      reclustered(r.incremental),
      clustersAgree(r) ? 'yes' : `NO (${r.full.clusters}/${r.baseline.clusters})`,
    ]),
  );
}

/** How many records the incremental run re-clustered, and its mode when it was not incremental. */
function reclustered(step: CaseOutput): string {
  const count = int(step.recordsUnified ?? 0);
  return step.mode === 'incremental' ? count : `${count} (${step.mode})`;
}

/** Golden records equal baseline clusters, after the full run and after the batch. */
export function clustersAgree(row: SpeedRow): boolean {
  return (
    row.full.clusters === row.baseline.clusters &&
    row.incremental.clusters === row.baseline.clustersAfterBatch
  );
}

export function memoryTable(rows: SpeedRow[]): string {
  return table(
    ['database', 'records', 'baseline MiB', 'stage MiB', 'full MiB', 'incremental MiB'],
    rows.map((r) => [
      r.database,
      int(r.records),
      int(r.baseline.peakRssMb),
      int(r.stage.peakRssMb),
      int(r.full.peakRssMb),
      int(r.incremental.peakRssMb),
    ]),
  );
}

/** Everything measured, for the JSON line: plain numbers, no samples or ids. */
export function jsonReport(accuracy: AccuracyResult[], speed: SpeedRow[], skipped: string[]) {
  return {
    accuracy: accuracy.map((r) => ({
      file: r.name,
      rules: r.rules,
      records: r.score.records,
      trueClusters: r.score.trueClusters,
      goldenRecords: r.goldenRecords,
      precision: r.score.precision,
      recall: r.score.recall,
      f1: r.score.f1,
    })),
    speed: speed.map((r) => ({
      database: r.database,
      records: r.records,
      stageSeconds: r.stage.seconds,
      fullSeconds: r.full.seconds,
      fullRecordsPerSecond: r.records / r.full.seconds,
      baselineSeconds: r.baseline.seconds,
      baselineRecordsPerSecond: r.records / r.baseline.seconds,
      fullToBaseline: r.full.seconds / r.baseline.seconds,
      fullWithinTarget: r.full.seconds / r.baseline.seconds <= TARGET_FULL_RATIO,
      fullCpuSeconds: r.full.cpuSeconds,
      baselineCpuSeconds: r.baseline.cpuSeconds,
      fullWorkedIn: r.full.workedIn,
      fullDoneHere: r.full.doneHere,
      fullJoinedIn: r.full.joinedIn,
      batch: r.batch,
      batchStageSeconds: r.incremental.stageSeconds,
      incrementalSeconds: r.incremental.seconds,
      incrementalWithinTarget: r.incremental.seconds < TARGET_INCREMENTAL_SECONDS,
      incrementalMode: r.incremental.mode,
      incrementalRecordsUnified: r.incremental.recordsUnified,
      goldenRecords: r.full.clusters,
      goldenAfterBatch: r.incremental.clusters,
      clustersAgree: clustersAgree(r),
      peakRssMb: {
        baseline: r.baseline.peakRssMb,
        stage: r.stage.peakRssMb,
        full: r.full.peakRssMb,
        incremental: r.incremental.peakRssMb,
      },
    })),
    skipped,
  };
}
