/** Salesforce datetime text: parsing to epoch ms and writing SOQL literals. */

const DATE_PART = String.raw`(\d{4})-(\d{2})-(\d{2})`;
const TIME_PART = String.raw`[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?`;
const ZONE_PART = String.raw`\s*(Z|[+-]\d{2}:?\d{2})?`;
const INSTANT = new RegExp(`^${DATE_PART}(?:${TIME_PART}${ZONE_PART})?$`, 'i');

/**
 * Parses `2026-03-01T08:15:00.000+0000` (REST), `...Z` (Bulk CSV), `+01:00` offsets and dates
 * (`2026-03-01`). A value without a zone is UTC, whatever the worker's time zone. Returns null
 * for anything else, including impossible dates.
 */
export function parseInstant(text: string): number | null {
  const m = INSTANT.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone = 'Z'] = m;
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const check = new Date(utc);
  if (check.getUTCDate() !== Number(d) || check.getUTCHours() !== Number(h)) return null;
  if (zone.toUpperCase() === 'Z') return utc;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const offsetMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
  return utc - sign * offsetMin * 60_000;
}

/**
 * The SOQL datetime literal for an instant: unquoted, UTC, `Z` suffix
 * (`2026-03-01T08:15:00.000Z`). A quoted value or a JS Date's `toString()` text is
 * MALFORMED_QUERY, and a `+hh:mm` offset would reach Salesforce as a space unless encoded.
 */
export function soqlDateTime(value: Date | string | number): string {
  const ms =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'number'
        ? value
        : parseInstant(value);
  if (ms === null || !Number.isFinite(ms)) {
    throw new RangeError(`Not a datetime: ${String(value)}`);
  }
  return new Date(ms).toISOString();
}
