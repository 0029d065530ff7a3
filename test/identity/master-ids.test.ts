import { assignDerivedIds, derivedMasterId } from '../../identity/master-ids';

describe('derived master ids', () => {
  it('are RFC 4122 version 5 ids that depend only on the dataset, founder and attempt', () => {
    const id = derivedMasterId('customers', 'crm:003A1', 0);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(derivedMasterId('customers', 'crm:003A1', 0)).toBe(id);
    expect(derivedMasterId('other', 'crm:003A1', 0)).not.toBe(id);
    expect(derivedMasterId('customers', 'crm:003A1', 1)).not.toBe(id);
  });

  it('never change: they are the Braze external ids of golden records already sent', () => {
    // Cross-checked with Python: uuid.uuid5(UUID('6f1c2a52-b0a8-4e0c-9d3e-7a51c4f0b8d2'),
    // 'customers\x00crm:003A1\x000'), and likewise for the second.
    expect(derivedMasterId('customers', 'crm:003A1', 0)).toBe(
      '9da8523a-f64d-513e-bfc3-cdce98de71f0',
    );
    expect(derivedMasterId('customers', 'crm:é', 2)).toBe('de9b52a7-2dca-554b-afc1-26fce4b7fc56');
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
