import type { Knex } from 'knex';
import * as store from '../store/identity';

/**
 * The records an incremental run must re-cluster: the changed ones, every member of the golden
 * records they belonged to (a change can split those), and everything connected to either
 * through a shared index value. Clustering depends only on a record's connected component, so
 * re-clustering this closure gives exactly what a full rebuild would.
 */
export async function findAffected(
  trx: Knex.Transaction,
  dataset: string,
  live: number[],
  changed: number[],
  removed: Set<number>,
): Promise<Int32Array> {
  const previous = await store.loadPreviousGolden(trx, dataset, changed);
  const seen = new Set<number>(live);
  for (const id of await store.membersOfGolden(trx, dataset, [...new Set(previous.values())])) {
    if (!removed.has(id)) seen.add(id);
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
