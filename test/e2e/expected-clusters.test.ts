import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { SAMPLE_FILE } from '../support/e2e';

/**
 * Recomputes, without Braid's code, the numbers the end-to-end tests expect on fake_1000.csv:
 * rows whose email is present but malformed are dropped, then records are linked on the
 * lower-cased email or on (first name, surname, birth date) and connected components counted
 * with a breadth-first search over an explicit edge list.
 */
describe('the expected golden-record count for the sample file', () => {
  const rows: Array<Record<string, string>> = parse(readFileSync(SAMPLE_FILE), { columns: true });

  test('1,000 rows, 23 malformed emails, 347 people', () => {
    const wellFormed = /^[^\s@]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}$/;
    const kept = rows.filter((r) => r.email!.trim() === '' || wellFormed.test(r.email!.trim()));
    expect(rows).toHaveLength(1000);
    expect(rows.length - kept.length).toBe(23);

    const keyOf = (r: Record<string, string>) => {
      const keys: string[] = [];
      if (r.email!.trim()) keys.push(`e:${r.email!.trim().toLowerCase()}`);
      const parts = [r.first_name, r.surname, r.dob].map((v) => v!.trim().toLowerCase());
      if (parts.every((p) => p !== '')) keys.push(`n:${parts.join('|')}`);
      return keys;
    };
    const edges = new Map<number, number[]>();
    const byKey = new Map<string, number[]>();
    kept.forEach((r, i) => keyOf(r).forEach((k) => byKey.set(k, [...(byKey.get(k) ?? []), i])));
    for (const members of byKey.values()) {
      for (const a of members)
        for (const b of members) if (a !== b) edges.set(a, [...(edges.get(a) ?? []), b]);
    }
    const seen = new Set<number>();
    let components = 0;
    for (let start = 0; start < kept.length; start++) {
      if (seen.has(start)) continue;
      components += 1;
      const queue = [start];
      seen.add(start);
      while (queue.length > 0) {
        for (const next of edges.get(queue.shift()!) ?? []) {
          if (!seen.has(next)) {
            seen.add(next);
            queue.push(next);
          }
        }
      }
    }
    expect(components).toBe(347);
  });
});
