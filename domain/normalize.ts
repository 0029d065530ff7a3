/**
 * Normalizers used before matching and when rows are staged. Pure functions: no I/O.
 * They return undefined for values that must never link two records (blank or placeholder).
 */

/** Placeholder values that would merge a crowd of unrelated people if they were matched on. */
const PLACEHOLDERS = new Set([
  '',
  'null',
  'none',
  'nil',
  'na',
  'n/a',
  '-',
  '--',
  '-1',
  '0',
  'unknown',
  'anonymous',
  'undefined',
]);

export function isBlank(value: string | null | undefined): boolean {
  return value === null || value === undefined || value.trim() === '';
}

/**
 * Trim, case-fold, strip accents and collapse inner spaces. Control characters count as spaces,
 * so the separator of compound match keys can never occur in a normalized value.
 */
export function normalizeText(value: string): string | undefined {
  const folded = value
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[\s\p{Cc}]+/gu, ' ')
    .trim();
  return PLACEHOLDERS.has(folded) ? undefined : folded;
}

/**
 * Accepts an address with one @, a non-empty local part without spaces and a dotted domain of
 * letters, digits and hyphens. Deliberately not the full RFC 5322 grammar: Braze rejects
 * addresses this rejects, and accepting them would only move the rejection downstream.
 */
const EMAIL = /^[^\s@]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$/;

export function isValidEmail(value: string): boolean {
  return EMAIL.test(value.trim());
}

/** Canonical email for matching: trimmed and lower-cased; invalid or placeholder → undefined. */
export function normalizeEmail(value: string): string | undefined {
  const email = value.trim().toLowerCase();
  if (!isValidEmail(email)) return undefined;
  const local = email.slice(0, email.indexOf('@'));
  return PLACEHOLDERS.has(local) || local === 'test' ? undefined : email;
}

/** Digits only (for phone-like keys); all-same-digit runs such as 0000000 never link. */
export function normalizeDigits(value: string): string | undefined {
  const digits = value.replace(/\D+/g, '');
  if (digits.length < 4 || /^(\d)\1*$/.test(digits)) return undefined;
  return digits;
}

/** ISO date (YYYY-MM-DD) from ISO, YYYYMMDD or DD/MM/YYYY text; anything else → undefined. */
export function normalizeDate(value: string): string | undefined {
  const text = value.trim();
  let match = /^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$/.exec(text) ?? /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  if (match) return validDate(match[1]!, match[2]!, match[3]!);
  match = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(text);
  if (match) return validDate(match[3]!, match[2]!.padStart(2, '0'), match[1]!.padStart(2, '0'));
  return undefined;
}

function validDate(year: string, month: string, day: string): string | undefined {
  const iso = `${year}-${month}-${day}`;
  const date = new Date(`${iso}T00:00:00Z`);
  return Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== iso ? undefined : iso;
}
