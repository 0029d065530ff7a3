import { UnionFind } from './union-find';

/** One staged source record as the identity step sees it. */
export interface UnifyRecord {
  id: number;
  keys: string[];
  /** Order for "most recent wins": the source's updated-at when known, else staging time. */
  recencyMs: number;
  values: Record<string, string>;
  /** The golden record this source record belonged to after the previous run, if any. */
  previousMasterId?: string;
}

/**
 * Groups records that share any match-key value, transitively (A~B by email and B~C by name
 * and birth date make one person). Returns clusters of indexes into `records`, each sorted,
 * ordered by their smallest index so the result does not depend on hash iteration order.
 */
export function clusterRecords(records: ReadonlyArray<Pick<UnifyRecord, 'keys'>>): number[][] {
  const sets = new UnionFind(records.length);
  const firstHolder = new Map<string, number>();
  records.forEach((record, index) => {
    for (const key of record.keys) {
      const holder = firstHolder.get(key);
      if (holder === undefined) firstHolder.set(key, index);
      else sets.union(holder, index);
    }
  });

  const byRoot = new Map<number, number[]>();
  for (let i = 0; i < records.length; i++) {
    const root = sets.find(i);
    const members = byRoot.get(root);
    if (members) members.push(i);
    else byRoot.set(root, [i]);
  }
  return [...byRoot.values()];
}

export interface MasterAssignment {
  /** Index into the clusters array. */
  cluster: number;
  /** The id the cluster keeps, or undefined when it needs a new one. */
  masterId: string | undefined;
  /** Older golden records folded into this one. */
  mergedIds: string[];
  /** Golden records this cluster was split off from (it held a minority of their members). */
  splitFrom: string[];
}

/**
 * Gives each cluster a stable master id. An existing id goes to the cluster holding most of its
 * former members (ties: the cluster with the lowest record index), so a split keeps the id on
 * its larger part. A cluster granted several ids keeps the oldest (`rank`, lower is older) and
 * records the others as merged into it.
 */
export function assignMasterIds(
  clusters: number[][],
  records: ReadonlyArray<Pick<UnifyRecord, 'previousMasterId'>>,
  rank: (masterId: string) => number,
): MasterAssignment[] {
  const holders = new Map<string, Map<number, number>>();
  clusters.forEach((members, cluster) => {
    for (const index of members) {
      const previous = records[index]!.previousMasterId;
      if (previous === undefined) continue;
      const counts = holders.get(previous) ?? new Map<number, number>();
      counts.set(cluster, (counts.get(cluster) ?? 0) + 1);
      holders.set(previous, counts);
    }
  });

  const granted = clusters.map(() => [] as string[]);
  const splitFrom = clusters.map(() => [] as string[]);
  for (const [masterId, counts] of holders) {
    let winner = -1;
    let best = 0;
    for (const [cluster, count] of counts) {
      if (count > best || (count === best && cluster < winner)) [winner, best] = [cluster, count];
    }
    granted[winner]!.push(masterId);
    for (const cluster of counts.keys()) if (cluster !== winner) splitFrom[cluster]!.push(masterId);
  }

  return clusters.map((_, cluster) => {
    const ids = granted[cluster]!.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    return {
      cluster,
      masterId: ids[0],
      mergedIds: ids.slice(1),
      splitFrom: splitFrom[cluster]!.sort(),
    };
  });
}

export type Survivorship = 'most_recent' | 'most_recent_non_null';

/**
 * Builds a golden record's attributes from its members. `most_recent` takes every column from
 * the newest record; `most_recent_non_null` takes each column from the newest record that has
 * a value for it. Ties on recency go to the record staged last (higher id).
 */
export function surviveAttributes(
  members: ReadonlyArray<Pick<UnifyRecord, 'id' | 'recencyMs' | 'values'>>,
  rule: Survivorship,
): Record<string, string> {
  const newestFirst = [...members].sort((a, b) => b.recencyMs - a.recencyMs || b.id - a.id);
  if (rule === 'most_recent') return { ...newestFirst[0]!.values };

  const out: Record<string, string> = {};
  for (const record of newestFirst) {
    for (const [column, value] of Object.entries(record.values)) {
      if (out[column] === undefined || out[column] === '') out[column] = value;
    }
  }
  return out;
}
