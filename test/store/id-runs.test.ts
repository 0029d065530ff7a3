import { idRuns } from '../../store/bulk';

describe('idRuns', () => {
  it('reads runs of consecutive ids as ranges and leaves shorter ones as single ids', () => {
    const ids = [
      ...[107, 103, 105, 104, 106, 101, 102, 100], // 100..107 in any order: a run of 8
      ...[200, 201, 202], // three: too short
      ...[7, 3], // apart
    ];

    expect(idRuns(ids, 4)).toEqual({
      ranges: [[100, 107]],
      rest: [3, 7, 200, 201, 202],
    });
  });

  it('counts a repeated id once, in a run and outside one', () => {
    expect(idRuns([5, 6, 6, 7, 7, 8, 20, 20], 4)).toEqual({ ranges: [[5, 8]], rest: [20] });
    expect(idRuns([5, 5, 5, 5, 6], 3)).toEqual({ ranges: [], rest: [5, 6] });
  });

  it('splits at the first gap and treats a run of exactly the length asked as a range', () => {
    expect(idRuns([1, 2, 3, 5, 6, 7, 8, 9], 3)).toEqual({
      ranges: [
        [1, 3],
        [5, 9],
      ],
      rest: [],
    });
  });

  it('makes runs of whole numbers only', () => {
    // A range from 100.5 to 103.5 would read records 101 to 103, which nobody asked for.
    expect(idRuns([100.5, 101.5, 102.5, 103.5], 2)).toEqual({
      ranges: [],
      rest: [100.5, 101.5, 102.5, 103.5],
    });
    expect(idRuns([1, 2, 3, 3.5, 4, 5, 6], 3)).toEqual({
      ranges: [
        [1, 3],
        [4, 6],
      ],
      rest: [3.5],
    });
  });

  it('gives nothing for no ids and keeps a single id as it is', () => {
    expect(idRuns([], 2)).toEqual({ ranges: [], rest: [] });
    expect(idRuns(Int32Array.of(42), 1)).toEqual({ ranges: [[42, 42]], rest: [] });
    expect(idRuns(Int32Array.of(42), 2)).toEqual({ ranges: [], rest: [42] });
  });
});
