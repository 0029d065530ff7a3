import type { Condition } from '../../config/datasets/recipes';
import { isBlank } from '../normalize';

/** A compiled condition: true when the row matches. */
export type RowTest = (values: Record<string, string>) => boolean;

/** Compiles a `drop` condition: equals / in (optionally ignoring case), blank, or matches. */
export function compileCondition(condition: Condition): RowTest {
  const { column } = condition;
  const fold = (v: string) => (condition.ignoreCase ? v.trim().toLowerCase() : v.trim());
  if (condition.blank !== undefined) {
    const wanted = condition.blank;
    return (values) => isBlank(values[column]) === wanted;
  }
  if (condition.matches !== undefined) {
    const pattern = new RegExp(condition.matches, condition.ignoreCase ? 'i' : '');
    return (values) => pattern.test(values[column] ?? '');
  }
  const allowed = new Set((condition.in ?? [condition.equals!]).map(fold));
  return (values) => allowed.has(fold(values[column] ?? ''));
}
