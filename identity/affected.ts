import type { Knex } from 'knex';
import * as store from '../store/identity';

/** What changed since the last run. */
export interface Changes {
  /** Changed records still live, already indexed under their new values. */
  live: number[];
  /** Every changed record, live or removed. */
  changed: number[];
  /** Records deleted at the source. */
  removed: Set<number>;
  /** The index rows the changed records had before this run. */
  before: store.KeyRow[];
}

/**
 * The records an incremental run must re-cluster: the changed ones, every member of the golden
 * records they belonged to (a change can split those), every record that shared a value with
 * a changed record before the change, and everything connected to any of these through a
 * shared index value. Clustering depends only on a record's connected component, so
 * re-clustering this closure gives exactly what a full rebuild would: the old neighbours are
 * needed because a component's clusters can depend on a record that has since left it (a
 * merge it made refused under a key limit, for instance).
 */
export async function findAffected(
  trx: Knex.Transaction,
  dataset: string,
  changes: Changes,
): Promise<Int32Array> {
  const { live, changed, removed } = changes;
  const previous = await store.loadPreviousGolden(trx, dataset, changed);
  const seen = new Set<number>(live);
  for (const id of await store.membersOfGolden(trx, dataset, [...new Set(previous.values())])) {
    if (!removed.has(id)) seen.add(id);
  }
  const oldValues = new Map<string, string[]>();
  for (const row of changes.before) {
    const values = oldValues.get(row.key);
    if (values) values.push(row.value);
    else oldValues.set(row.key, [row.value]);
  }
  for (const [key, values] of oldValues) {
    for (const id of await store.recordsWithValues(trx, dataset, key, [...new Set(values)])) {
      if (!removed.has(id)) seen.add(id);
    }
  }

  const visited = new Set<string>();
  let frontier = [...seen];
  while (frontier.length > 0) {
    const fresh = new Map<string, string[]>();
    for (const row of await store.keysOfRecords(trx, dataset, frontier)) {
      const value = `${row.key}\u0000${row.value}`;
      if (visited.has(value)) continue;
      visited.add(value);
      const values = fresh.get(row.key);
      if (values) values.push(row.value);
      else fresh.set(row.key, [row.value]);
    }
    const next: number[] = [];
    for (const [key, values] of fresh) {
      for (const id of await store.recordsWithValues(trx, dataset, key, values)) {
        if (!seen.has(id) && !removed.has(id)) {
          seen.add(id);
          next.push(id);
        }
      }
    }
    frontier = next;
  }
  return Int32Array.from([...seen].sort((a, b) => a - b));
}
