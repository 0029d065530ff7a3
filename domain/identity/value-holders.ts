/**
 * The first record seen with each index value (`key`, `value`), kept in memory during a full
 * rebuild so that records sharing a value are joined as they are read, instead of by sorting
 * and walking the whole index afterwards.
 *
 * Values are not stored, only two 32-bit hashes of them, both compared: two different values
 * taken for one is about as likely as one in a few thousand runs at a million records, and
 * harmless when it happens. It only puts two raw components into one unit of work; clustering
 * (domain/identity/cluster.ts) links records by their actual values, so the clusters are the
 * same.
 *
 * Memory is three Int32Arrays of a power-of-two length (12 bytes a slot, at most 5/8 of the
 * slots used), at most `maxBytes` together, growth included. A dataset with more values than
 * that holds gives up (`overflowed`), and the caller falls back to the walk over the database
 * index, which needs no memory per value.
 */
export class ValueHolders {
  /** Record index + 1 per slot; 0 marks an empty slot. */
  private holders: Int32Array;
  /** The hash that picked each slot: kept so that a larger table can place it again. */
  private spots: Int32Array;
  /** The second hash of the value in each slot. */
  private tags: Int32Array;
  private mask: number;
  private used = 0;
  private gaveUp = false;

  constructor(
    private readonly maxBytes: number,
    initialSlots = 1 << 16,
  ) {
    const slots = Math.max(16, 2 ** Math.ceil(Math.log2(initialSlots)));
    this.holders = new Int32Array(slots);
    this.spots = new Int32Array(slots);
    this.tags = new Int32Array(slots);
    this.mask = slots - 1;
    if (this.bytesFor(slots) > maxBytes) this.giveUp();
  }

  /** True once the values no longer fit in `maxBytes`; every later call returns -1. */
  get overflowed(): boolean {
    return this.gaveUp;
  }

  /** Distinct values held. */
  get size(): number {
    return this.used;
  }

  /**
   * The index of the first record seen with this value, or -1 when `index` is the first (it is
   * then remembered as the holder).
   */
  holderOf(key: string, value: string, index: number): number {
    if (this.gaveUp) return -1;
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193;
    [h1, h2] = mix(key, h1, h2);
    h1 = Math.imul(h1 ^ 0xff, 0x9e3779b1);
    h2 = Math.imul(h2 ^ 0xff, 0x85ebca77);
    [h1, h2] = mix(value, h1, h2);
    const spot = finish(h1 ^ key.length, value.length);
    const tag = finish(h2, 0x27d4eb2f);
    for (let slot = spot & this.mask; ; slot = (slot + 1) & this.mask) {
      const holder = this.holders[slot]!;
      if (holder === 0) break;
      if (this.spots[slot] === spot && this.tags[slot] === tag) return holder - 1;
    }
    this.insert(spot, tag, index);
    return -1;
  }

  private insert(spot: number, tag: number, index: number): void {
    // At most 5/8 full: linear probing stays short.
    if ((this.used + 1) * 8 > this.holders.length * 5 && !this.grow()) return;
    let slot = spot & this.mask;
    while (this.holders[slot] !== 0) slot = (slot + 1) & this.mask;
    this.holders[slot] = index + 1;
    this.spots[slot] = spot;
    this.tags[slot] = tag;
    this.used += 1;
  }

  /** Doubles the table; false (and gives up) when the doubled one would exceed the budget. */
  private grow(): boolean {
    const slots = this.holders.length * 2;
    // Both tables live while the entries move.
    if (this.bytesFor(slots) + this.bytesFor(this.holders.length) > this.maxBytes) {
      this.giveUp();
      return false;
    }
    const old = { holders: this.holders, spots: this.spots, tags: this.tags };
    this.holders = new Int32Array(slots);
    this.spots = new Int32Array(slots);
    this.tags = new Int32Array(slots);
    this.mask = slots - 1;
    for (let i = 0; i < old.holders.length; i++) {
      if (old.holders[i] === 0) continue;
      let slot = old.spots[i]! & this.mask;
      while (this.holders[slot] !== 0) slot = (slot + 1) & this.mask;
      this.holders[slot] = old.holders[i]!;
      this.spots[slot] = old.spots[i]!;
      this.tags[slot] = old.tags[i]!;
    }
    return true;
  }

  /** Lets the table go once no more values come: `overflowed` is true from then on. */
  release(): void {
    this.giveUp();
  }

  private giveUp(): void {
    this.gaveUp = true;
    this.holders = new Int32Array(0);
    this.spots = new Int32Array(0);
    this.tags = new Int32Array(0);
    this.mask = 0;
  }

  private bytesFor(slots: number): number {
    return slots * 12;
  }
}

/**
 * Feeds a string's UTF-16 code units through two hashes of different shapes. A multiply alone
 * only carries a changed bit upwards, so each step also rotates (by a different amount in each
 * hash), bringing high bits back down for the next multiply: values that differ only in high
 * bits of their characters then differ in both hashes as often as any others.
 */
function mix(text: string, a: number, b: number): [number, number] {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x9e3779b1);
    a = (a << 13) | (a >>> 19);
    b = Math.imul(b ^ c, 0x85ebca77) + 0x6b43a9b5;
    b = (b << 17) | (b >>> 15);
  }
  return [a, b];
}

/** Final avalanche (MurmurHash3's fmix32), so every input bit reaches the low slot bits. */
function finish(h: number, salt: number): number {
  let x = h ^ salt;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return x ^ (x >>> 16);
}
