import { createHash } from 'node:crypto';
import type { DatasetConfig, MatchKey } from '../../config/schema';
import { sourceRecipesOf } from '../recipes/compile';
import { isBlank, normalizeDate } from '../normalize';
import { classifyKeyValue, compileKeyBlocked } from './blocked';
import type { ClusterRecord, IdentityPlan, RulePlan } from './cluster';
import { KEY_PART_SEPARATOR, keyNormalizer, normalizeTextKey } from './normalizers';

const PART_SEPARATOR = KEY_PART_SEPARATOR;

/** What the engine needs to know of one record, computed from its staged values. */
export interface RecordIdentity extends Omit<ClusterRecord, 'id'> {
  /** Fuzzy blocks the record sits in, as `rule=value`: they connect records too. */
  blocks: string[];
}

/** A dataset's identity rules, compiled once per run. */
export interface CompiledIdentity {
  plan: IdentityPlan;
  /** Changes whenever anything that decides clusters or attributes changes. */
  hash: string;
  identify(values: Record<string, string>): RecordIdentity;
}

export function compileIdentity(dataset: DatasetConfig): CompiledIdentity {
  const rules: RulePlan[] = (
    dataset.rules ?? [{ name: 'exact', keys: dataset.keys.map((k) => k.name) }]
  ).map((rule) =>
    rule.keys
      ? { name: rule.name, kind: 'exact', keys: rule.keys }
      : { name: rule.name, kind: 'fuzzy', block: rule.block!, compare: rule.compare! },
  );
  const limits: Record<string, number> = {};
  for (const key of dataset.keys) if (key.maxValues !== undefined) limits[key.name] = key.maxValues;

  const blocked = compileKeyBlocked(dataset.keys, dataset.blockedValues, dataset.defaultCountry);
  const normalizers = new Map(
    dataset.keys.map((k) => [k.name, keyNormalizer(k, dataset.defaultCountry)]),
  );
  const fuzzyColumns = new Set<string>();
  for (const rule of rules) {
    if (rule.kind !== 'fuzzy') continue;
    for (const column of rule.block) fuzzyColumns.add(column);
    for (const compare of rule.compare) fuzzyColumns.add(compare.column);
  }

  const identify = (values: Record<string, string>): RecordIdentity => {
    const keys: Record<string, string[]> = {};
    const roles: string[] = [];
    for (const key of dataset.keys) {
      const value = keyValue(values, key, normalizers.get(key.name)!);
      if (value === undefined) continue;
      const verdict = classifyKeyValue(key.name, value, {
        blocked,
        roleEmails: dataset.roleEmails,
        isEmailKey: key.normalize === 'email',
      });
      if (verdict === 'link') keys[key.name] = [value];
      else if (verdict === 'role') roles.push(`${key.name}=${value}`);
    }
    const columns: Record<string, string> = {};
    for (const column of fuzzyColumns) {
      const raw = values[column];
      if (raw === undefined || isBlank(raw)) continue;
      const normalized = normalizeDate(raw) ?? normalizeTextKey(raw, { stripAccents: true });
      if (normalized) columns[column] = normalized;
    }
    const blocks: string[] = [];
    for (const rule of rules) {
      if (rule.kind !== 'fuzzy') continue;
      const parts = rule.block.map((column) => columns[column]);
      if (parts.every((p) => p)) blocks.push(`${rule.name}=${parts.join(PART_SEPARATOR)}`);
    }
    return { keys, roles, columns, blocks };
  };

  const hash = createHash('sha256')
    .update(
      JSON.stringify([
        dataset.keys,
        rules,
        dataset.blockedValues,
        dataset.roleEmails,
        dataset.defaultCountry,
        dataset.survivorship,
        sourceRecipesOf(dataset),
        // A source added to the dataset brings records staged long ago: rebuild once.
        [...dataset.sources].sort(),
      ]),
    )
    .digest('hex');
  return { plan: { rules, limits }, hash, identify };
}

/** The normalized value of one key, or undefined when a column is blank or unusable. */
function keyValue(
  values: Record<string, string>,
  key: MatchKey,
  normalize: (raw: string) => string | undefined,
): string | undefined {
  const parts: string[] = [];
  for (const column of key.columns) {
    const raw = values[column];
    if (raw === undefined || isBlank(raw)) return undefined;
    const part = normalize(raw);
    if (part === undefined || part === '') return undefined;
    parts.push(part);
  }
  return parts.join(PART_SEPARATOR);
}

/** Every value a record is indexed under: keys, role addresses and fuzzy blocks. */
export function indexEntries(
  identity: RecordIdentity,
): Array<{ key: string; value: string; kind: string }> {
  const out: Array<{ key: string; value: string; kind: string }> = [];
  for (const [key, values] of Object.entries(identity.keys)) {
    for (const value of values) out.push({ key, value, kind: 'link' });
  }
  for (const role of identity.roles) {
    const at = role.indexOf('=');
    out.push({ key: role.slice(0, at), value: role.slice(at + 1), kind: 'role' });
  }
  for (const block of identity.blocks) {
    const at = block.indexOf('=');
    out.push({ key: `~${block.slice(0, at)}`, value: block.slice(at + 1), kind: 'block' });
  }
  return out;
}
