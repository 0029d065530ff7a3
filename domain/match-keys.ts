import type { MatchKey, Normalizer } from '../config/schema';
import { isBlank, normalizeDate, normalizeDigits, normalizeEmail, normalizeText } from './normalize';

const NORMALIZERS: Record<Normalizer, (value: string) => string | undefined> = {
  text: normalizeText,
  email: normalizeEmail,
  digits: normalizeDigits,
  date: normalizeDate,
};

/** Separates the parts of a compound key; it cannot occur in normalized text. */
const PART_SEPARATOR = '\u001f';

/**
 * The match-key values of one record, as `name=value` strings. A compound key exists only when
 * every one of its columns has a usable value, so a blank never links two records.
 */
export function matchKeyValues(values: Record<string, string>, keys: MatchKey[]): string[] {
  const out: string[] = [];
  for (const key of keys) {
    const normalize = NORMALIZERS[key.normalize];
    const parts: string[] = [];
    for (const column of key.columns) {
      const raw = values[column];
      const part = raw === undefined || isBlank(raw) ? undefined : normalize(raw);
      if (part === undefined) break;
      parts.push(part);
    }
    if (parts.length === key.columns.length) out.push(`${key.name}=${parts.join(PART_SEPARATOR)}`);
  }
  return out;
}
