/** A value as Braze stores it; null unsets the attribute. */
export type AttributeValue = string | number | boolean | null | string[];

/**
 * The attributes to send so Braze ends up with `next`, given what it last accepted. Unchanged
 * values are left out (each sent value is a billable data point); an attribute that was set
 * before and is gone now is sent as null so Braze unsets it. Returns {} when nothing changed.
 */
export function changedAttributes(
  next: Record<string, AttributeValue>,
  lastSent: Record<string, AttributeValue> | undefined,
): Record<string, AttributeValue> {
  const previous = lastSent ?? {};
  const out: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(next)) {
    const before = Object.hasOwn(previous, name) ? (previous[name] ?? null) : null;
    if (value === null && before === null) continue;
    if (!sameValue(value, before)) out[name] = value;
  }
  for (const [name, before] of Object.entries(previous)) {
    if (!Object.hasOwn(next, name) && before !== null) out[name] = null;
  }
  return out;
}

function sameValue(a: AttributeValue, b: AttributeValue): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => v === b[i])
    );
  }
  return a === b;
}

/** Splits items into consecutive chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
