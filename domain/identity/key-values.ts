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
  /**
   * The record as clustering sees it, from the index rows identify gave it earlier (stored in
   * identity_keys) and its values: the same as identify without normalizing its keys again,
   * which is most of identify's cost (phone numbers above all).
   */
  fromIndex(rows: ReadonlyArray<IndexEntry>, values: Record<string, string>): Omit<ClusterRecord, 'id'>;
}

/** One value a record is indexed under: a key value, a role address or a fuzzy block. */
export interface IndexEntry {
  key: string;
  value: string;
  kind: string;
}

export function compileIdentity(dataset: DatasetConfig): CompiledIdentity {
  const rules: RulePlan[] = (dataset.rules ?? [{ name: 'exact', keys: dataset.keys.map((k) => k.name) }]).map(
    (rule) =>
      rule.keys
        ? { name: rule.name, kind: 'exact', keys: rule.keys }
        : { name: rule.name, kind: 'fuzzy', block: rule.block!, compare: rule.compare! },
  );
  const limits: Record<string, number> = {};
  for (const key of dataset.keys) if (key.maxValues !== undefined) limits[key.name] = key.maxValues;

  const blocked = compileKeyBlocked(dataset.keys, dataset.blockedValues, dataset.defaultCountry);
  const normalizers = new Map(dataset.keys.map((k) => [k.name, keyNormalizer(k, dataset.defaultCountry)]));
  const fuzzyColumns = new Set<string>();
  for (const rule of rules) {
    if (rule.kind !== 'fuzzy') continue;
    for (const column of rule.block) fuzzyColumns.add(column);
    for (const compare of rule.compare) fuzzyColumns.add(compare.column);
  }

  const columnsOf = (values: Record<string, string>): Record<string, string> => {
    const columns: Record<string, string> = {};
    for (const column of fuzzyColumns) {
      const raw = values[column];
      if (raw === undefined || isBlank(raw)) continue;
      const normalized = normalizeDate(raw) ?? normalizeTextKey(raw, { stripAccents: true });
      if (normalized) columns[column] = normalized;
    }
    return columns;
  };

  const keyOrder = new Map(dataset.keys.map((k, i) => [k.name, i]));
  const fromIndex = (rows: ReadonlyArray<IndexEntry>, values: Record<string, string>) => {
    // In the order identify gives them: keys as the dataset lists them.
    const sorted = rows
      .filter((r) => r.kind === 'link' || r.kind === 'role')
      .sort((a, b) => keyOrder.get(a.key)! - keyOrder.get(b.key)! || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    const keys: Record<string, string[]> = {};
    const roles: string[] = [];
    for (const row of sorted) {
      if (row.kind === 'role') roles.push(`${row.key}=${row.value}`);
      else (keys[row.key] ??= []).push(row.value);
    }
    return { keys, roles, columns: columnsOf(values) };
  };

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
    const columns = columnsOf(values);
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
        dataset.keys, rules, dataset.blockedValues, dataset.roleEmails, dataset.defaultCountry,
        dataset.survivorship, sourceRecipesOf(dataset),
        // A source added to the dataset brings records staged long ago: rebuild once.
        [...dataset.sources].sort(),
      ]),
    )
    .digest('hex');
  return { plan: { rules, limits }, hash, identify, fromIndex };
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
export function indexEntries(identity: RecordIdentity): IndexEntry[] {
  const out: IndexEntry[] = [];
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
