import { UnionFind } from '../../domain/union-find';

function groups(sets: UnionFind, n: number): number[][] {
  const byRoot = new Map<number, number[]>();
  for (let i = 0; i < n; i++) byRoot.set(sets.find(i), [...(byRoot.get(sets.find(i)) ?? []), i]);
  return [...byRoot.values()];
}

describe('UnionFind', () => {
  it('starts with every element in its own set', () => {
    const sets = new UnionFind(4);

    expect(groups(sets, 4)).toEqual([[0], [1], [2], [3]]);
  });

  it('joins sets transitively and ignores repeated unions', () => {
    const sets = new UnionFind(6);

    sets.union(0, 1);
    sets.union(2, 3);
    sets.union(1, 3);
    sets.union(3, 0);
    sets.union(4, 4);

    expect(groups(sets, 6)).toEqual([[0, 1, 2, 3], [4], [5]]);
    expect(sets.find(2)).toBe(sets.find(0));
    expect(sets.find(5)).toBe(5);
  });

  it('keeps one root for a long chain built in either direction', () => {
    const n = 10_000;
    const forward = new UnionFind(n);
    const backward = new UnionFind(n);

    for (let i = 1; i < n; i++) forward.union(i - 1, i);
    for (let i = n - 1; i > 0; i--) backward.union(i, i - 1);

    expect(new Set(Array.from({ length: n }, (_, i) => forward.find(i))).size).toBe(1);
    expect(new Set(Array.from({ length: n }, (_, i) => backward.find(i))).size).toBe(1);
  });

  it('hangs the smaller set under the larger one', () => {
    const sets = new UnionFind(5);

    sets.union(0, 1);
    sets.union(0, 2);
    sets.union(3, 2);
    sets.union(4, 3);

    expect(sets.find(3)).toBe(sets.find(0));
    expect(sets.find(4)).toBe(sets.find(0));
    expect(sets.find(0)).toBe(0);
  });
});
