import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { ClusteringError, pairwiseScore } from '../../bench/pairwise-score';
import { isValidEmail } from '../../domain/normalize';

const SPLINK_FILE = path.join(__dirname, '../../examples/data/splink/fake_1000.csv');

describe('pairwiseScore', () => {
  it('equals dedup-score.mjs on fake_1000.csv clustered by exact email', () => {
    // Checked once against ../shared/tools/dedup-score.mjs, with a prediction file holding
    // unique_id and the trimmed, lower-cased email (empty when isValidEmail rejects it):
    //   node dedup-score.mjs --truth fake_1000.csv --truth-id unique_id --truth-cluster cluster
    //     --pred pred.csv --json
    // → records_in_truth 1000, true_clusters 181, predicted_clusters 449, true_pairs 2975,
    //   predicted_pairs 1602, true_positive_pairs 1602, precision 1,
    //   recall 0.5384873949579831, f1 0.7000218483722962 (F1=0.700022).
    const rows: Array<Record<string, string>> = parse(readFileSync(SPLINK_FILE), { columns: true });
    const truth = rows.map((r) => [r.unique_id!, r.cluster!] as const);
    const predicted = rows.map((r) => {
      const email = r.email!.trim().toLowerCase();
      return [r.unique_id!, isValidEmail(email) ? email : ''] as const;
    });

    const score = pairwiseScore(predicted, truth);

    expect(score).toEqual({
      records: 1000,
      missingIds: 0,
      extraIds: 0,
      trueClusters: 181,
      predictedClusters: 449,
      truePairs: 2975,
      predictedPairs: 1602,
      truePositivePairs: 1602,
      precision: 1,
      recall: 0.5384873949579831,
      f1: 0.7000218483722962,
    });
  });

  it('equals dedup-score.mjs on over-merging, a missing id, an extra id and an empty label', () => {
    // Truth {1,2} {3} {4,5,6} {7}; prediction {1..5} {7, 99}, 6 missing. dedup-score.mjs --json
    // gives missing_ids 1, extra_ids 1, true_clusters 4, predicted_clusters 3, true_pairs 4,
    // predicted_pairs 10, true_positive_pairs 2, precision 0.2, recall 0.5,
    // f1 0.28571428571428575.
    const truth = new Map([
      ['1', 'A'],
      ['2', 'A'],
      ['3', 'B'],
      ['4', 'C'],
      ['5', 'C'],
      ['6', 'C'],
      ['7', ''],
    ]);
    const predicted = new Map([
      ['1', 'X'],
      ['2', 'X'],
      ['3', 'X'],
      ['4', 'X'],
      ['5', 'X'],
      ['7', 'Z'],
      ['99', 'Z'],
    ]);

    const score = pairwiseScore(predicted, truth);

    expect(score).toEqual({
      records: 7,
      missingIds: 1,
      extraIds: 1,
      trueClusters: 4,
      predictedClusters: 3,
      truePairs: 4,
      predictedPairs: 10,
      truePositivePairs: 2,
      precision: 0.2,
      recall: 0.5,
      f1: 0.28571428571428575,
    });
  });

  it('scores a perfect and an all-singleton prediction', () => {
    const truth = [
      ['a', 'p'],
      ['b', 'p'],
      ['c', 'q'],
    ] as const;

    expect(
      pairwiseScore(
        [
          ['a', 'x'],
          ['b', 'x'],
          ['c', 'y'],
        ],
        truth,
      ).f1,
    ).toBe(1);
    const singletons = pairwiseScore(
      [
        ['a', ''],
        ['b', ''],
        ['c', ''],
      ],
      truth,
    );
    expect([singletons.precision, singletons.recall, singletons.f1]).toEqual([1, 0, 0]);
  });

  it('counts pairs from cluster sizes, so 200,000 records in one entity score at once', () => {
    // Enumerating the 19,999,900,000 true pairs would take hours; counting takes milliseconds.
    const n = 200_000;
    const truth = Array.from({ length: n }, (_, i) => [`r${i}`, 'everyone'] as const);
    const predicted = Array.from({ length: n }, (_, i) => [`r${i}`, `c${i % 10}`] as const);

    const score = pairwiseScore(predicted, truth);

    const pairs = (k: number) => (k * (k - 1)) / 2;
    expect(score.truePairs).toBe(pairs(n));
    expect(score.predictedPairs).toBe(10 * pairs(n / 10));
    expect(score.truePositivePairs).toBe(10 * pairs(n / 10));
    expect(score.precision).toBe(1);
    expect(score.recall).toBeCloseTo((10 * pairs(n / 10)) / pairs(n), 12);
  });

  it('ignores a repeated id with the same label and refuses one with another label', () => {
    const truth = [
      ['1', 'A'],
      ['1', 'A'],
      ['2', 'A'],
    ] as const;

    expect(
      pairwiseScore(
        [
          ['1', 'X'],
          ['2', 'X'],
        ],
        truth,
      ).records,
    ).toBe(2);
    expect(() =>
      pairwiseScore(
        [
          ['1', 'X'],
          ['1', 'Y'],
        ],
        truth,
      ),
    ).toThrow(ClusteringError);
    expect(() =>
      pairwiseScore(
        [
          ['1', 'X'],
          ['1', 'Y'],
        ],
        truth,
      ),
    ).toThrow('prediction: record "1" has two different labels');
  });
});
