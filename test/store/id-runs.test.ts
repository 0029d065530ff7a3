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

  it('gives nothing for no ids and keeps a single id as it is', () => {
    expect(idRuns([], 2)).toEqual({ ranges: [], rest: [] });
    expect(idRuns(Int32Array.of(42), 1)).toEqual({ ranges: [[42, 42]], rest: [] });
    expect(idRuns(Int32Array.of(42), 2)).toEqual({ ranges: [], rest: [42] });
  });
});
