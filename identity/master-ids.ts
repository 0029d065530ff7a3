import crypto from 'node:crypto';

/**
 * SHA-1 of a buffer: Node's one-shot `crypto.hash` where it exists (20.12 and later), about a
 * fifth cheaper than a Hash object for inputs this short; a rebuild derives one id per new
 * golden record.
 */
const sha1 = (input: Buffer): Buffer =>
  typeof crypto.hash === 'function'
    ? crypto.hash('sha1', input, 'buffer')
    : crypto.createHash('sha1').update(input).digest();

/** Braid's namespace for name-based (RFC 4122 version 5) master ids. */
const NAMESPACE = Buffer.from('6f1c2a52b0a84e0c9d3e7a51c4f0b8d2', 'hex');

/**
 * A new golden record's master id, derived from its data rather than drawn at random: the
 * dataset and the smallest `source:record_key` among its members, plus an attempt number for
 * the rare case where that id was already taken (a record that founded a golden record, was
 * merged away and founds another). Rebuilding the same data in a fresh database therefore gives
 * the same master ids, so the same Braze profiles.
 */
export function derivedMasterId(dataset: string, founder: string, attempt: number): string {
  const name = `${dataset}\u0000${founder}\u0000${attempt}`;
  const input = Buffer.allocUnsafe(NAMESPACE.length + Buffer.byteLength(name));
  NAMESPACE.copy(input, 0);
  input.write(name, NAMESPACE.length);
  const hash = sha1(input);
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Master ids for new clusters, one per founder, none of them in use: `taken` answers which of
 * a list of candidates already exist. `first`, when given, holds each founder's first attempt
 * already derived (a record thread derives them beside the clusters).
 */
export async function assignDerivedIds(
  dataset: string,
  founders: string[],
  taken: (candidates: string[]) => Promise<Set<string>>,
  first?: readonly string[],
): Promise<string[]> {
  const ids = founders.map((founder, i) => first?.[i] ?? derivedMasterId(dataset, founder, 0));
  const attempts = founders.map(() => 0);
  const used = new Set<string>();
  let pending = founders.map((_, i) => i);
  while (pending.length > 0) {
    const existing = await taken(pending.map((i) => ids[i]!));
    const retry: number[] = [];
    for (const i of pending) {
      if (existing.has(ids[i]!) || used.has(ids[i]!)) {
        attempts[i]! += 1;
        ids[i] = derivedMasterId(dataset, founders[i]!, attempts[i]!);
        retry.push(i);
      } else used.add(ids[i]!);
    }
    pending = retry;
  }
  return ids;
}
