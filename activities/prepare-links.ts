import type { Knex } from 'knex';

import type { DatasetConfig } from '../config/schema';
import { compileGoldenRecipes, compileSourceRecipes } from '../domain/recipes/compile';
import { multiMemberRecords } from '../store/link-keys';

/** Per link name: golden records whose members carry several customer keys → those keys. */
export type MemberKeys = Map<string, Map<string, string[]>>;

/** A golden record after golden-level recipes. */
export interface PreparedGolden {
  masterId: string;
  attributes: Record<string, string>;
}

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
 * prepared (`kept`) count; a record whose members agree links by its own field, as usual.
 */
export async function collectMemberKeys(
  trx: Knex.Transaction,
  name: string,
  dataset: DatasetConfig,
  kept: ReadonlySet<string>,
): Promise<MemberKeys> {
  const out: MemberKeys = new Map();
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
          const tidied = goldenRecipes({ ...record.attributes, [link.field]: raw });
          const key = tidied?.[link.field]?.trim();
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

/**
 * Which golden record each customer key links to, for one link: every key to one record, so
 * no order counts for two profiles (and the RFM base holds each order once). A key goes to the
 * oldest golden record (lowest id; `goldens` is in that order) that holds it, the rule event
 * exports already follow. Nearly every record owns exactly its own field's value; only the
 * exceptions are kept, which is what `link_keys` stores and event targets read.
 */
export interface LinkOwnership {
  /** Records owning two or more keys → those keys, sorted. */
  multi: Map<string, string[]>;
  /** Records owning one key that is not their field's value → that key. */
  moved: Map<string, string>;
  /** Records whose field has a value that an older record owns: they link to nothing. */
  none: Set<string>;
}

export function assignLinkKeys(
  goldens: readonly PreparedGolden[],
  field: string,
  memberKeys: ReadonlyMap<string, string[]>,
): LinkOwnership {
  const out: LinkOwnership = { multi: new Map(), moved: new Map(), none: new Set() };
  const claimed = new Set<string>();
  for (const golden of goldens) {
    const own = golden.attributes[field]?.trim() ?? '';
    const candidates = memberKeys.get(golden.masterId) ?? (own === '' ? [] : [own]);
    const owned = candidates.filter((key) => !claimed.has(key));
    for (const key of owned) claimed.add(key);
    if (owned.length > 1) out.multi.set(golden.masterId, owned);
    else if (owned.length === 1 && owned[0] !== own) out.moved.set(golden.masterId, owned[0]!);
    else if (owned.length === 0 && own !== '') out.none.add(golden.masterId);
  }
  return out;
}

/** The rows `link_keys` keeps for an ownership: every key of each exception. */
export function listedKeys(ownership: LinkOwnership): Map<string, string[]> {
  const out = new Map(ownership.multi);
  for (const [masterId, key] of ownership.moved) out.set(masterId, [key]);
  return out;
}

/**
 * Where a golden record's linked values are: `m:<master id>` for a record owning several keys
 * (its values cover all of them), `k:<key>` for one key, undefined for none.
 */
export function linkedUnit(
  golden: PreparedGolden,
  field: string,
  ownership: LinkOwnership,
): string | undefined {
  if (ownership.multi.has(golden.masterId)) return `m:${golden.masterId}`;
  const moved = ownership.moved.get(golden.masterId);
  if (moved !== undefined) return `k:${moved}`;
  if (ownership.none.has(golden.masterId)) return undefined;
  const key = golden.attributes[field]?.trim() ?? '';
  return key === '' ? undefined : `k:${key}`;
}
