import { ValueHolders } from '../../domain/identity/value-holders';
import { valueMemoryBytes } from '../../identity/rebuild-index';

describe('ValueHolders', () => {
  it('answers the first record seen with a value, keeping keys apart', () => {
    const holders = new ValueHolders(1 << 20);
    expect(holders.holderOf('email', 'ana@example.org', 0)).toBe(-1);
    expect(holders.holderOf('phone', 'ana@example.org', 1)).toBe(-1);
    expect(holders.holderOf('email', 'bob@example.org', 2)).toBe(-1);
    expect(holders.holderOf('email', 'ana@example.org', 3)).toBe(0);
    expect(holders.holderOf('phone', 'ana@example.org', 4)).toBe(1);
    // The key and value are hashed apart: `ab`+`c` is not `a`+`bc`.
    expect(holders.holderOf('ab', 'c', 5)).toBe(-1);
    expect(holders.holderOf('a', 'bc', 6)).toBe(-1);
    expect(holders.size).toBe(5);
  });

  it('agrees with a Map over 200k values while its table grows', () => {
    const holders = new ValueHolders(64 << 20, 16);
    const reference = new Map<string, number>();
    let mismatches = 0;
    for (let i = 0; i < 400_000; i++) {
      // Every value comes twice on average, at random places.
      const value = `p${(i * 2_654_435_761) % 200_003}@example.org`;
      const expected = reference.get(value) ?? -1;
      if (expected < 0) reference.set(value, i);
      if (holders.holderOf('email', value, i) !== expected) mismatches++;
    }
    expect(mismatches).toBe(0);
    expect(holders.size).toBe(reference.size);
    expect(holders.overflowed).toBe(false);
  });

  it('keeps values apart that differ only in high bits of their characters', () => {
    // 1M values of 20 characters, each 'a' (0x61) or 0x8061. With both hashes made of
    // multiplies alone, a change in bit 15 never reached lower bits, and dozens were taken for
    // an earlier value. Two independent 64-bit hashes give none (about 3e-8 expected).
    const halves = Array.from({ length: 1024 }, (_, i) =>
      Array.from({ length: 10 }, (_, k) => String.fromCharCode((i >> k) & 1 ? 0x8061 : 0x61)).join(
        '',
      ),
    );
    const holders = new ValueHolders(128 << 20);
    let taken = 0;
    for (let i = 0; i < 1_000_000; i++) {
      if (holders.holderOf('name', halves[i & 1023]! + halves[i >> 10]!, i) >= 0) taken++;
    }
    expect(taken).toBe(0);
  });

  it('gives up past its budget, and then answers -1 for every value', () => {
    const holders = new ValueHolders(16 * 1024, 16);
    let first = -1;
    for (let i = 0; i < 5000 && !holders.overflowed; i++) {
      holders.holderOf('email', `p${i}`, i);
      first = i;
    }
    expect(holders.overflowed).toBe(true);
    // 16 KiB: a table of 512 slots (6 KiB) cannot double, as both tables would live at once
    // (18 KiB), so the value after its 320th (5/8 of the slots) gave up.
    expect(first).toBe(320);
    expect(holders.holderOf('email', 'p1', 9999)).toBe(-1);
    expect(new ValueHolders(0).overflowed).toBe(true);
  });

  it('lets its table go when released, and holds nothing after', () => {
    const holders = new ValueHolders(1 << 20);
    expect(holders.holderOf('email', 'a@x.org', 0)).toBe(-1);
    expect(holders.holderOf('email', 'a@x.org', 1)).toBe(0);
    holders.release();
    expect(holders.overflowed).toBe(true);
    expect(holders.holderOf('email', 'a@x.org', 2)).toBe(-1);
  });
});

describe('valueMemoryBytes', () => {
  it('reads BRAID_IDENTITY_MEMORY_MB, with 128 MiB by default, and refuses what is not a number', () => {
    expect(valueMemoryBytes({})).toBe(128 * 1024 * 1024);
    expect(valueMemoryBytes({ BRAID_IDENTITY_MEMORY_MB: '0' })).toBe(0);
    expect(valueMemoryBytes({ BRAID_IDENTITY_MEMORY_MB: '1.5' })).toBe(1.5 * 1024 * 1024);
    expect(() => valueMemoryBytes({ BRAID_IDENTITY_MEMORY_MB: '64MB' })).toThrow(
      'BRAID_IDENTITY_MEMORY_MB must be a number of megabytes, not "64MB"',
    );
  });
});
