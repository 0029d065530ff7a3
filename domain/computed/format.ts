/**
 * Text of an aggregated number as prepared attributes keep it. Sums and averages are rounded to
 * 1e-6, so the same values summed in another order by the database give the same text and plan
 * sees no change.
 */
export function formatNumber(value: number): string {
  const rounded = Math.round(value * 1e6) / 1e6;
  return Object.is(rounded, -0) ? '0' : String(rounded);
}

/** Text of any aggregate value from the database; null stays null (the field is unset). */
export function formatValue(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'bigint') return value.toString();
  return String(value);
}
