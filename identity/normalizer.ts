import type { DatasetConfig } from '../config/schema';
import { compileIdentity, indexEntries } from '../domain/identity/key-values';
import { compileSourceRecipes } from '../domain/recipes/compile';

/** A staged record as a rebuild first reads it: its payload still JSON text. */
export interface RawRecord {
  id: number;
  source: string;
  payload: string;
}

/**
 * The index entries of a page of records, flat: record k has `counts[k]` entries, which follow
 * those of the records before it in `keys`, `values` and `kinds`. Flat arrays of strings cross
 * between threads far faster than one object per entry.
 */
export interface PageEntries {
  counts: Int32Array;
  keys: string[];
  values: string[];
  kinds: string[];
}

/** What a dataset's records are indexed under: parsed, source recipes applied, identified. */
export type Normalize = (sources: readonly string[], payloads: readonly string[]) => PageEntries;

/**
 * Compiles the per-record work of a rebuild's first pass for one dataset. The same function
 * runs in the unify's own thread or in a normalizer thread (identity/normalizer-pool.ts), so
 * both give the same entries. A record a recipe drops is indexed under nothing.
 */
export function compileNormalizer(dataset: DatasetConfig, name: string): Normalize {
  const identity = compileIdentity(dataset);
  const recipes = compileSourceRecipes(dataset, name);
  return (sources, payloads) => {
    const out: PageEntries = { counts: new Int32Array(payloads.length), keys: [], values: [], kinds: [] };
    for (let k = 0; k < payloads.length; k++) {
      const values = recipes(sources[k]!, JSON.parse(payloads[k]!) as Record<string, string>) ?? {};
      const entries = indexEntries(identity.identify(values));
      out.counts[k] = entries.length;
      for (const entry of entries) {
        out.keys.push(entry.key);
        out.values.push(entry.value);
        out.kinds.push(entry.kind);
      }
    }
    return out;
  };
}
