import { DatasetConfig } from '../config/schema';
import { inferIdentityRules } from '../domain/identity/infer-rules';

/** Rows the rules are inferred from, as `braid dedupe file` does (identity/dedupe-file.ts). */
const SAMPLE_ROWS = 2000;

/** What {@link benchDataset} chose for a file, for the bench's output. */
export interface BenchRules {
  dataset: DatasetConfig;
  /** `name=col+col` per key, `rule` names in order: one line a reader can check. */
  summary: string;
}

/**
 * The one rule set every bench file is unified with: the rules `braid dedupe file` infers for
 * customer data in general (inferIdentityRules, then defaultCustomerRules), never rules tuned to
 * a file. Only the headers and the first rows are looked at, as the command does.
 */
export function benchDataset(
  headers: readonly string[],
  rows: ReadonlyArray<Readonly<Record<string, string>>>,
  options: { sources: string[]; defaultCountry?: string },
): BenchRules {
  const inferred = inferIdentityRules(headers, rows.slice(0, SAMPLE_ROWS), {
    defaultCountry: options.defaultCountry,
  });
  const dataset = DatasetConfig.parse({
    sources: options.sources,
    keys: inferred.keys,
    rules: inferred.rules,
    defaultCountry: options.defaultCountry,
    survivorship: 'most_recent',
  });
  const keys = dataset.keys.map((k) => `${k.name}=${k.columns.join('+')}`).join(', ');
  const rules = (dataset.rules ?? []).map((r) => r.name).join(' then ');
  return { dataset, summary: `keys ${keys}; rules ${rules}` };
}
