/**
 * Pairwise accuracy of a deduplication: of all record pairs put in one cluster, how many belong
 * to one true entity (precision), and of all true pairs, how many were found (recall). Pure.
 *
 * Pairs are counted from cluster sizes, never enumerated: a cluster of n records holds
 * n·(n−1)/2 pairs, and the true positives are the pairs inside each (true entity, predicted
 * cluster) intersection. Time and memory are linear in the number of records, so a million
 * records score in about a second even when one cluster holds them all.
 */

/** Record id → cluster (or entity) label; an empty label means the record stands alone. */
export type Clustering = Iterable<readonly [recordId: string, label: string]>;

/** The outcome of {@link pairwiseScore}. */
export interface PairwiseScore {
  /** Records scored: every record id of the truth. */
  records: number;
  /** Truth records missing from the prediction; each is scored as a cluster of its own. */
  missingIds: number;
  /** Predicted records absent from the truth; ignored. */
  extraIds: number;
  trueClusters: number;
  predictedClusters: number;
  truePairs: number;
  predictedPairs: number;
  truePositivePairs: number;
  /** 1 when no pair is predicted: nothing claimed, nothing wrong. */
  precision: number;
  /** 1 when there is no true pair: nothing to find. */
  recall: number;
  /** Harmonic mean of precision and recall; 0 when both are 0. */
  f1: number;
}

/** Thrown when one record id is given two different labels. */
export class ClusteringError extends Error {}

/**
 * Scores `predicted` (record id → predicted cluster) against `truth` (record id → true entity).
 * Ids and labels are compared after trimming. Only truth ids are scored: a truth id missing
 * from the prediction counts as a singleton, a predicted id absent from the truth is ignored.
 * A record repeated with the same label is counted once; with another label it throws.
 */
export function pairwiseScore(predicted: Clustering, truth: Clustering): PairwiseScore {
  const truthLabels = labelIndex(truth, 'truth');
  const predictedLabels = labelIndex(predicted, 'prediction');

  // The predicted label of each truth record, numbered; singletons get fresh numbers.
  let nextCluster = predictedLabels.clusters;
  let missingIds = 0;
  const predictedOf = new Map<string, number>();
  for (const id of truthLabels.byId.keys()) {
    let cluster = predictedLabels.byId.get(id);
    if (cluster === undefined) {
      missingIds++;
      cluster = nextCluster++;
    }
    predictedOf.set(id, cluster);
  }

  const trueSizes = new Map<number, number>();
  const predictedSizes = new Map<number, number>();
  const cells = new Map<number, number>();
  for (const [id, entity] of truthLabels.byId) {
    const cluster = predictedOf.get(id)!;
    increment(trueSizes, entity);
    increment(predictedSizes, cluster);
    // entity · (number of clusters) + cluster is unique per cell and stays below 2^53 for
    // any input that fits in memory.
    increment(cells, entity * nextCluster + cluster);
  }

  const truePairs = sumPairs(trueSizes);
  const predictedPairs = sumPairs(predictedSizes);
  const truePositivePairs = sumPairs(cells);
  let extraIds = 0;
  for (const id of predictedLabels.byId.keys()) if (!truthLabels.byId.has(id)) extraIds++;

  const precision = predictedPairs > 0 ? truePositivePairs / predictedPairs : 1;
  const recall = truePairs > 0 ? truePositivePairs / truePairs : 1;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return {
    records: truthLabels.byId.size,
    missingIds,
    extraIds,
    trueClusters: trueSizes.size,
    predictedClusters: predictedSizes.size,
    truePairs,
    predictedPairs,
    truePositivePairs,
    precision,
    recall,
    f1,
  };
}

interface LabelIndex {
  /** Record id → cluster number. */
  byId: Map<string, number>;
  /** Cluster numbers handed out, 0 to clusters − 1. */
  clusters: number;
}

function labelIndex(clustering: Clustering, side: string): LabelIndex {
  const numbers = new Map<string, number>();
  const byId = new Map<string, number>();
  const labelOf = new Map<string, string>();
  let clusters = 0;
  for (const [rawId, rawLabel] of clustering) {
    const id = rawId.trim();
    const label = rawLabel.trim();
    const seen = labelOf.get(id);
    if (seen !== undefined) {
      if (seen === label) continue;
      throw new ClusteringError(`${side}: record ${JSON.stringify(id)} has two different labels`);
    }
    labelOf.set(id, label);
    let cluster = label === '' ? undefined : numbers.get(label);
    if (cluster === undefined) {
      cluster = clusters++;
      if (label !== '') numbers.set(label, cluster);
    }
    byId.set(id, cluster);
  }
  return { byId, clusters };
}

function increment(counts: Map<number, number>, key: number): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function sumPairs(sizes: Map<number, number>): number {
  let pairs = 0;
  for (const n of sizes.values()) pairs += (n * (n - 1)) / 2;
  return pairs;
}
