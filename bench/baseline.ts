import type { DatasetConfig } from '../config/schema';
import { compileIdentity } from '../domain/identity/key-values';
import { UnionFind } from '../domain/union-find';

/** What the in-memory baseline found. */
export interface BaselineResult {
  records: number;
  clusters: number;
  seconds: number;
}

/**
 * The floor the engine is compared with: the same key normalization and blocked-value checks
 * (compileIdentity), then a union-find over shared values and a cluster count, all in memory,
 * with no database, no rules beyond exact keys, and nothing written.
 */
export function unionFindBaseline(
  dataset: DatasetConfig,
  records: ReadonlyArray<Readonly<Record<string, string>>>,
): BaselineResult {
  const started = process.hrtime.bigint();
  const identity = compileIdentity(dataset);
  const sets = new UnionFind(records.length);
  const holder = new Map<string, number>();
  records.forEach((values, index) => {
    for (const [key, list] of Object.entries(identity.identify(values).keys)) {
      for (const value of list) {
        const joined = `${key}\u0000${value}`;
        const first = holder.get(joined);
        if (first === undefined) holder.set(joined, index);
        else sets.union(first, index);
      }
    }
  });
  let clusters = 0;
  for (let i = 0; i < records.length; i++) if (sets.find(i) === i) clusters++;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { records: records.length, clusters, seconds };
}
