/** Position of `id` in an ascending array of ids, or -1. */
export function indexOfId(sorted: Int32Array, id: number): number {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const value = sorted[mid]!;
    if (value === id) return mid;
    if (value < id) low = mid + 1;
    else high = mid - 1;
  }
  return -1;
}

/**
 * Groups 0..n-1 by a group number, groups ordered by their smallest member and members
 * ascending: a counting sort, so it costs a few integers per item instead of a Map of arrays.
 */
export function groupBy(
  n: number,
  groupOf: (i: number) => number,
  keep: (i: number) => boolean = () => true,
): number[][] {
  const firstSeen = new Map<number, number>();
  const order: number[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!keep(i)) continue;
    const group = groupOf(i);
    let slot = firstSeen.get(group);
    if (slot === undefined) {
      slot = order.length;
      firstSeen.set(group, slot);
      order.push(group);
      sizes.push(0);
    }
    sizes[slot]! += 1;
  }
  const out = sizes.map((size) => new Array<number>(size));
  const fill = new Array<number>(sizes.length).fill(0);
  for (let i = 0; i < n; i++) {
    if (!keep(i)) continue;
    const slot = firstSeen.get(groupOf(i))!;
    out[slot]![fill[slot]!++] = i;
  }
  return out;
}

/** Items 0..n-1 grouped: `order` lists each group's items, group g at starts[g]..starts[g+1]. */
export interface Groups {
  order: Int32Array;
  starts: Int32Array;
}

/**
 * Groups 0..n-1 by a root in 0..n-1 (a union-find's), groups ordered by their smallest member
 * and members ascending, in typed arrays: a few integers per item, never an array per group.
 */
export function groupByRoot(n: number, rootOf: (i: number) => number): Groups {
  const slotOfRoot = new Int32Array(n).fill(-1);
  const slot = new Int32Array(n);
  const sizes = new Int32Array(n + 1);
  let groups = 0;
  for (let i = 0; i < n; i++) {
    const root = rootOf(i);
    if (slotOfRoot[root] === -1) slotOfRoot[root] = groups++;
    slot[i] = slotOfRoot[root]!;
    sizes[slot[i]! + 1]! += 1;
  }
  const starts = new Int32Array(groups + 1);
  for (let g = 0; g < groups; g++) starts[g + 1] = starts[g]! + sizes[g + 1]!;
  const fill = starts.slice(0, groups);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[fill[slot[i]!]!++] = i;
  return { order, starts };
}
