import type { SurvivorshipConfig, SurvivorshipRule } from '../../config/schema';
import { isBlank } from '../normalize';

/** One member of a golden record, as survivorship sees it. */
export interface SurviveMember {
  /** Staging id: lower was seen first (a record keeps its id when it changes). */
  id: number;
  source: string;
  /** The source's own updated-at when configured, else when the record was staged. */
  recencyMs: number;
  values: Record<string, string>;
}

/**
 * Builds a golden record's attributes column by column, each with its own rule (see README,
 * "Survivorship"). Deterministic: ties on recency go to the record staged last (higher id).
 */
export function surviveGolden(
  members: ReadonlyArray<SurviveMember>,
  config: SurvivorshipConfig,
): Record<string, string> {
  if (members.length === 1) return surviveAlone(members[0]!.values, config);
  const newestFirst = [...members].sort((a, b) => b.recencyMs - a.recencyMs || b.id - a.id);
  const columns = new Set<string>();
  for (const member of newestFirst)
    for (const column of Object.keys(member.values)) columns.add(column);

  // No prototype: a column named `__proto__` is a column like any other.
  const out: Record<string, string> = Object.create(null);
  for (const column of columns) {
    const rule = ruleOf(config, column);
    out[column] = surviveColumn(newestFirst, column, rule, config.sourcePriority);
  }
  return out;
}

/**
 * True when a record on its own survives exactly as it is: every column's rule is
 * `most_recent`, which keeps each value as it is.
 */
export function keepsRecordAsIs(config: SurvivorshipConfig): boolean {
  return (
    config.default === 'most_recent' &&
    Object.values(config.columns).every((rule) => rule === 'most_recent')
  );
}

/**
 * What every rule gives for a record on its own (most golden records have one member): its
 * value as it is for `most_recent`, blank as '' for the rules that skip blanks, trimmed for
 * `max`, `min` and `union` (a list of one). Same result as the general path, without sorting
 * and filtering member lists per column.
 */
function surviveAlone(
  values: Record<string, string>,
  config: SurvivorshipConfig,
): Record<string, string> {
  // No prototype: a column named `__proto__` is a column like any other.
  const out: Record<string, string> = Object.create(null);
  for (const column of Object.keys(values)) {
    const value = values[column]!;
    const rule = ruleOf(config, column);
    if (rule === 'most_recent') out[column] = value;
    else if (isBlank(value)) out[column] = '';
    else if (rule === 'max' || rule === 'min') out[column] = value.trim();
    else if (rule === 'union') out[column] = JSON.stringify([value.trim()]);
    else out[column] = value;
  }
  return out;
}

/** A column's rule: its own entry, never one a plain object inherits (`constructor`...). */
function ruleOf(config: SurvivorshipConfig, column: string): SurvivorshipRule {
  return Object.hasOwn(config.columns, column) ? config.columns[column]! : config.default;
}

function surviveColumn(
  newestFirst: ReadonlyArray<SurviveMember>,
  column: string,
  rule: SurvivorshipRule,
  priority: readonly string[],
): string {
  // A member's own value only: one without the column must not read an inherited property.
  const at = (m: SurviveMember) => (Object.hasOwn(m.values, column) ? m.values[column] : undefined);
  const filled = newestFirst.filter((m) => !isBlank(at(m)));
  switch (rule) {
    case 'most_recent':
      for (const member of newestFirst) if (at(member) !== undefined) return at(member)!;
      return '';
    case 'most_recent_non_null':
      return filled.length > 0 ? at(filled[0]!)! : '';
    case 'source_priority': {
      const rank = (source: string) => {
        const at = priority.indexOf(source);
        return at === -1 ? priority.length : at;
      };
      // Array.prototype.sort is stable, so equal ranks keep newest-first order.
      return [...filled].sort((a, b) => rank(a.source) - rank(b.source))[0]?.values[column] ?? '';
    }
    case 'first_seen':
      return [...filled].sort((a, b) => a.id - b.id)[0]?.values[column] ?? '';
    case 'max':
    case 'min':
      return extreme(
        filled.map((m) => m.values[column]!.trim()),
        rule,
      );
    case 'union': {
      const seen = [...filled].sort((a, b) => a.id - b.id).map((m) => m.values[column]!.trim());
      const distinct = [...new Set(seen)];
      return distinct.length === 0 ? '' : JSON.stringify(distinct);
    }
  }
}

/** Numbers compare as numbers when every value is one; otherwise as text (ISO dates sort so). */
function extreme(values: string[], rule: 'max' | 'min'): string {
  if (values.length === 0) return '';
  const numeric = values.every((v) => v !== '' && Number.isFinite(Number(v)));
  const sorted = [...values].sort((a, b) =>
    numeric ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0,
  );
  return rule === 'max' ? sorted[sorted.length - 1]! : sorted[0]!;
}
