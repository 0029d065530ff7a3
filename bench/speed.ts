import type { Knex } from 'knex';
import type { DatasetConfig } from '../config/schema';
import { unifyDataset, type UnifySummary } from '../identity/unify-dataset';
import { stageRecords, type StageRow } from '../store/staging';
import { BENCH_COLUMNS, generateChanges, generateRecords, type BenchRecord } from './generate';
import { benchDataset } from './rules';

/** Source and dataset names of the generated records. */
export const BENCH_SOURCE = 'crm';
export const BENCH_DATASET = 'customers';
/** Generated phones are French numbers, mostly written without +33. */
const DEFAULT_COUNTRY = 'FR';
/** Rows staged per transaction, as a source reader's page would be. */
const STAGE_PAGE = 5000;
/** Clock of the bench: staging and unify times are fixed so runs are comparable. */
const T0 = 1_767_225_600_000;

/** Seconds since `started` (a process.hrtime.bigint() reading). */
export function secondsSince(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** The rule set for generated records, inferred from their header and first rows. */
export function generatedDataset(seed: number): DatasetConfig {
  const sample = [...take(generateRecords(1000, seed), 1000)].map((r) => r.values);
  return benchDataset(BENCH_COLUMNS, sample, {
    sources: [BENCH_SOURCE],
    defaultCountry: DEFAULT_COUNTRY,
  }).dataset;
}

function* take<T>(items: Iterable<T>, n: number): Generator<T> {
  let i = 0;
  for (const item of items) {
    if (i++ >= n) return;
    yield item;
  }
}

function toStageRow(record: BenchRecord): StageRow {
  return {
    source: BENCH_SOURCE,
    recordKey: record.key,
    values: record.values,
    sourceUpdatedAtMs: null,
    origin: `generated:${record.key}`,
  };
}

/** Stages records a page per transaction; returns the seconds it took. */
export async function stageAll(
  db: Knex,
  records: Iterable<BenchRecord>,
  nowMs: number,
): Promise<number> {
  const started = process.hrtime.bigint();
  let page: StageRow[] = [];
  const flush = async () => {
    const rows = page;
    page = [];
    await db.transaction((trx) => stageRecords(trx, rows, nowMs));
  };
  for (const record of records) {
    page.push(toStageRow(record));
    if (page.length >= STAGE_PAGE) await flush();
  }
  if (page.length > 0) await flush();
  return secondsSince(started);
}

/** Stages the first `count` generated records. */
export function stageGenerated(db: Knex, count: number, seed: number): Promise<number> {
  return stageAll(db, generateRecords(count, seed), T0);
}

/** A timed unify and what it reported. */
export interface TimedUnify {
  seconds: number;
  summary: UnifySummary;
}

/** A full rebuild of every staged record, timed. */
export async function unifyFull(db: Knex, dataset: DatasetConfig): Promise<TimedUnify> {
  const started = process.hrtime.bigint();
  const summary = await unifyDataset(db, BENCH_DATASET, dataset, {
    runId: 'bench-full',
    nowMs: T0 + 1000,
    mode: 'full',
  });
  return { seconds: secondsSince(started), summary };
}

/** What an incremental run cost: staging the batch, then unifying it. */
export interface TimedIncremental extends TimedUnify {
  stageSeconds: number;
  updated: number;
  added: number;
}

/**
 * Stages a batch of `size` changes to the first `count` records (see generateChanges), then
 * unifies it against the golden records already there, timing each step on its own.
 */
export async function unifyBatch(
  db: Knex,
  dataset: DatasetConfig,
  count: number,
  size: number,
  seed: number,
): Promise<TimedIncremental> {
  const batch = generateChanges(count, size, seed);
  const stageSeconds = await stageAll(db, batch.records, T0 + 2000);
  const started = process.hrtime.bigint();
  const summary = await unifyDataset(db, BENCH_DATASET, dataset, {
    runId: 'bench-incremental',
    nowMs: T0 + 3000,
  });
  const seconds = secondsSince(started);
  return { seconds, summary, stageSeconds, updated: batch.updated, added: batch.added };
}

/**
 * The records as they stand after the batch: the first `count` with updated ones replaced,
 * then the new ones. For checking cluster counts after an incremental run.
 */
export function recordsAfterBatch(count: number, size: number, seed: number): BenchRecord[] {
  const records = [...generateRecords(count, seed)];
  for (const changed of generateChanges(count, size, seed).records) {
    const index = Number(changed.key.slice(1));
    if (index < count) records[index] = changed;
    else records.push(changed);
  }
  return records;
}
