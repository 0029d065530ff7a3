import { assignDerivedIds, derivedMasterId } from '../../identity/master-ids';

describe('derived master ids', () => {
  it('are RFC 4122 version 5 ids that depend only on the dataset, founder and attempt', () => {
    const id = derivedMasterId('customers', 'crm:003A1', 0);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(derivedMasterId('customers', 'crm:003A1', 0)).toBe(id);
    expect(derivedMasterId('other', 'crm:003A1', 0)).not.toBe(id);
    expect(derivedMasterId('customers', 'crm:003A1', 1)).not.toBe(id);
  });

  it('skip ids already taken, and never give two clusters the same one', async () => {
    const first = derivedMasterId('d', 'a', 0);
    const asked: string[][] = [];
    const ids = await assignDerivedIds('d', ['a', 'b'], async (candidates) => {
      asked.push(candidates);
      return new Set([first]);
    });
    expect(ids).toEqual([derivedMasterId('d', 'a', 1), derivedMasterId('d', 'b', 0)]);
    expect(asked).toEqual([[first, derivedMasterId('d', 'b', 0)], [derivedMasterId('d', 'a', 1)]]);
  });
});
