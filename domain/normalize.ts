/**
 * Value checks and parsers used when rows are staged and attributes typed. Pure functions.
 * The normalizers that prepare match keys live in domain/identity/normalizers.ts.
 */

export function isBlank(value: string | null | undefined): boolean {
  return value === null || value === undefined || value.trim() === '';
}

/** A decimal number as people write one: sign, digits, a point, an exponent. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * The number a text field holds, or undefined. Stricter than Number(), which reads `0x1F` as
 * 31, `0b11` as 3 and a blank as 0: an amount column holding such text is a mistake to report,
 * not a value to send. Surrounding spaces are allowed; thousands separators and decimal commas
 * are not (use a recipe to rewrite them).
 */
export function parseDecimal(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DECIMAL.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
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

/** ISO date (YYYY-MM-DD) from ISO, YYYYMMDD or DD/MM/YYYY text; anything else → undefined. */
export function normalizeDate(value: string): string | undefined {
  const text = value.trim();
  let match =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$/.exec(text) ?? /^(\d{4})(\d{2})(\d{2})$/.exec(text);
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

const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Epoch ms from ISO 8601 text. A value without a zone is taken as UTC, never as the worker's
 * local time, so the result is the same on every machine. Anything that is not ISO 8601
 * (Date.parse would "read" `7` as a date in 2001) → undefined.
 */
export function parseTimestampMs(value: string): number | undefined {
  const match = ISO_TIMESTAMP.exec(value.trim());
  if (!match) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', fraction = '', zone = 'Z'] = match;
  if (!validDate(y!, mo!, d!) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59)
    return undefined;
  const millis = fraction ? fraction.slice(1, 4).padEnd(3, '0') : '000';
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  return Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}.${millis}${offset}`);
}
