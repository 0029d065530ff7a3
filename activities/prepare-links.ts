import type { Knex } from 'knex';

import type { DatasetConfig } from '../config/schema';
import { compileGoldenRecipes, compileSourceRecipes } from '../domain/recipes/compile';
import { multiMemberRecords } from '../store/link-keys';

/** Per link name: golden records holding several customer keys → their keys, sorted. */
export type MultiKeys = Map<string, Map<string, string[]>>;

/**
 * The customer keys of each golden record that holds more than one, per link. A golden field
 * keeps one surviving value, but when records with different customer ids merge (by email,
 * say) each id's orders belong to the one person: joining on the survivor alone lost the
 * others' orders and left their new events matching no profile.
 *
 * A golden record's keys are the link field of each live member after source-level recipes,
 * passed through the golden-level recipes with the rest of the golden record, as the golden
 * value itself is: a recipe that rewrites the field (trim, case, map) rewrites every key the
 * same way, and one that drops the record drops its keys. Only records whose golden record is
 * prepared (`kept`) count; records with one key keep the plain per-key path.
 */
export async function collectMultiKeys(
  trx: Knex.Transaction,
  name: string,
  dataset: DatasetConfig,
  kept: ReadonlySet<string>,
): Promise<MultiKeys> {
  const out: MultiKeys = new Map();
  const links = Object.entries(dataset.links);
  for (const [linkName] of links) out.set(linkName, new Map());
  if (links.length === 0) return out;
  const sourceRecipes = compileSourceRecipes(dataset, name);
  const goldenRecipes = compileGoldenRecipes(dataset, name);
  for await (const page of multiMemberRecords(trx, name)) {
    for (const record of page) {
      if (!kept.has(record.masterId)) continue;
      const found = links.map(() => new Set<string>());
      for (const member of record.members) {
        const values = sourceRecipes(member.source, member.values);
        if (values === null) continue;
        links.forEach(([, link], i) => {
          const raw = values[link.field];
          if (raw === undefined || raw.trim() === '') return;
          const key = goldenRecipes({ ...record.attributes, [link.field]: raw })?.[link.field]?.trim();
          if (key) found[i]!.add(key);
        });
      }
      links.forEach(([linkName], i) => {
        if (found[i]!.size > 1) out.get(linkName)!.set(record.masterId, [...found[i]!].sort());
      });
    }
  }
  return out;
}

/** Same keys in the same (sorted) order. */
export function sameKeys(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((key, i) => key === b[i]);
}
