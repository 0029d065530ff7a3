import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { ACCURACY_CASES, scoreAll, scoreCase } from '../../bench/accuracy';
import { unionFindBaseline } from '../../bench/baseline';
import { generateChanges, generateRecords, type BenchRecord } from '../../bench/generate';
import type { PairwiseScore } from '../../bench/pairwise-score';
import { parseArgs } from '../../bench/run-bench';
import {
  generatedDataset,
  recordsAfterBatch,
  stageGenerated,
  unifyBatch,
  unifyFull,
} from '../../bench/speed';
import { migrate } from '../../store/db';
import { BACKENDS, sqlite } from '../support/databases';

const SEED = 7;
const RECORDS = 2000;
const BATCH = 200;
const DEDUP_SCORE = path.join(__dirname, '../../../shared/tools/dedup-score.mjs');
const SPLINK_FILE = path.join(__dirname, '../../examples/data/splink/fake_1000.csv');

/**
 * Clusters of the generated truth, counted apart from the engine: records that share a
 * canonical value the generator recorded (never a placeholder or a broken typo) are one.
 */
function truthClusters(records: BenchRecord[]): number {
  const parent = records.map((_, i) => i);
  const root = (i: number): number => (parent[i] === i ? i : (parent[i] = root(parent[i]!)));
  const owner = new Map<string, number>();
  records.forEach((record, i) => {
    for (const link of record.links) {
      const first = owner.get(link);
      if (first === undefined) owner.set(link, i);
      else parent[root(i)] = root(first);
    }
  });
  return records.filter((_, i) => root(i) === i).length;
}

const pick = ({ precision, recall, f1 }: PairwiseScore) => ({ precision, recall, f1 });

describe('the generated bench records', () => {
  it('are the same for a seed and hold people with several records, typos and placeholders', () => {
    const records = [...generateRecords(RECORDS, SEED)];
    const again = [...generateRecords(RECORDS, SEED)];

    expect(again).toEqual(records);
    const people = new Set(records.map((r) => r.person)).size;
    expect(people).toBeLessThan(RECORDS * 0.7);
    expect(records.some((r) => r.values.email.includes('gmial.com'))).toBe(true);
    expect(records.some((r) => r.values.email === 'test@test.com')).toBe(true);
    expect(records.some((r) => r.values.customer_id === '0')).toBe(true);
    // People with duplicates outnumber what the keys can link, so recall is not free.
    expect(truthClusters(records)).toBeGreaterThan(people);
  });

  it('changes existing records and adds new ones in a batch', () => {
    const batch = generateChanges(RECORDS, BATCH, SEED);

    expect(batch.records).toHaveLength(BATCH);
    expect({ updated: batch.updated, added: batch.added }).toEqual({ updated: 60, added: 140 });
    const keys = batch.records.map((r) => Number(r.key.slice(1)));
    expect(keys.filter((k) => k < RECORDS)).toHaveLength(60);
    expect(new Set(keys).size).toBe(BATCH);
  });
});

describe.each(BACKENDS)('the speed bench on $name', (backend) => {
  let db: Knex;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ db, close } = await backend.open());
    await migrate(db);
  });

  afterAll(async () => close());

  it('unifies into as many golden records as truth and baseline have clusters', async () => {
    const records = [...generateRecords(RECORDS, SEED)];
    const dataset = generatedDataset(SEED);
    const baseline = unionFindBaseline(
      dataset,
      records.map((r) => r.values),
    );

    await stageGenerated(db, RECORDS, SEED);
    const full = await unifyFull(db, dataset);

    expect(dataset.keys.map((k) => [k.name, k.normalize, k.maxValues])).toEqual([
      ['email', 'email', undefined],
      ['phone', 'phone', undefined],
      ['customer_id', 'text', 1],
    ]);
    expect(full.summary).toMatchObject({ mode: 'full', recordsUnified: RECORDS, limitRefused: 0 });
    expect(full.summary.goldenRecords).toBe(truthClusters(records));
    expect(baseline.clusters).toBe(truthClusters(records));
  });

  it('unifies a batch incrementally into the clusters of the records as they stand', async () => {
    const after = recordsAfterBatch(RECORDS, BATCH, SEED);
    const dataset = generatedDataset(SEED);

    const run = await unifyBatch(db, dataset, RECORDS, BATCH, SEED);

    expect(run.summary.mode).toBe('incremental');
    // One rewrite draws the very values its record had: staging keeps that row as it was.
    expect(run.summary.recordsChanged).toBe(BATCH - 1);
    expect(run.summary.merged).toBeGreaterThan(0);
    expect(run.summary.split).toBeGreaterThan(0);
    expect(run.summary.goldenRecords).toBe(truthClusters(after));
    const baseline = unionFindBaseline(
      dataset,
      after.map((r) => r.values),
    );
    expect(baseline.clusters).toBe(truthClusters(after));
    const rebuild = await unifyFull(db, dataset);
    const unchanged = { goldenRecords: baseline.clusters, created: 0, merged: 0 };
    expect(rebuild.summary).toMatchObject(unchanged);
  });
});

describe('the accuracy bench', () => {
  it('scores the three public files with the rules inferred for customer data', async () => {
    const results = await scoreAll();

    // Measured when the bench was written; a change to the engine or the default rules moves them.
    const measured = results.map((r) => [r.name, r.goldenRecords, ...Object.values(pick(r.score))]);
    expect(measured).toEqual([
      ['splink fake_1000', 344, 1, 0.717983193277311, 0.8358442574838584],
      ['febrl dataset1', 550, 1, 0.9, 0.9473684210526316],
      ['febrl dataset4a+4b', 5439, 1, 0.9122, 0.9540843008053551],
    ]);
    expect(results[1]!.rules).toBe(
      'keys soc_sec_id=soc_sec_id, name_dob=given_name+surname+date_of_birth, ' +
        'name_postcode=given_name+surname+postcode; rules exact then fuzzy_name',
    );
  });

  const crossCheck = existsSync(DEDUP_SCORE) ? it : it.skip;
  crossCheck('scores fake_1000 as ../shared/tools/dedup-score.mjs does', async () => {
    const { db, close } = await sqlite.open();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'braid-bench-score-'));
    try {
      await migrate(db);
      const result = await scoreCase(db, ACCURACY_CASES[0]!);
      const lines = [...result.predicted].map(([id, master]) => `${id.split(':')[1]},${master}`);
      const predFile = path.join(dir, 'pred.csv');
      writeFileSync(predFile, ['record_id,master_id', ...lines].join('\n'));

      const output = execFileSync(process.execPath, [
        DEDUP_SCORE,
        '--truth',
        SPLINK_FILE,
        '--truth-id',
        'unique_id',
        '--truth-cluster',
        'cluster',
        '--pred',
        predFile,
        '--json',
      ]).toString('utf8');
      const external = JSON.parse(output.split('\n')[0]!);

      expect({
        truePairs: external.true_pairs,
        predictedPairs: external.predicted_pairs,
        truePositivePairs: external.true_positive_pairs,
        predictedClusters: external.predicted_clusters,
        precision: external.precision,
        recall: external.recall,
        f1: external.f1,
      }).toEqual({
        truePairs: result.score.truePairs,
        predictedPairs: result.score.predictedPairs,
        truePositivePairs: result.score.truePositivePairs,
        predictedClusters: result.score.predictedClusters,
        precision: result.score.precision,
        recall: result.score.recall,
        f1: result.score.f1,
      });
    } finally {
      await close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bench options', () => {
  it('reads a quick run and refuses what it does not know', () => {
    expect(parseArgs(['--records', '100_000', '--only', 'sqlite'])).toMatchObject({
      sizes: [100_000],
      only: 'sqlite',
      batch: 10_000,
    });
    expect(parseArgs([]).sizes).toEqual([100_000, 300_000, 1_000_000]);
    expect(() => parseArgs(['--only', 'mysql'])).toThrow(
      '--only: sqlite, postgres, accuracy or prepare, not mysql',
    );
    expect(() => parseArgs(['--records', '-5'])).toThrow('--records: not a positive integer: -5');
    expect(() => parseArgs(['--records'])).toThrow('--records needs a value');
  });
});
