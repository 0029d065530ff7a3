/**
 * UTC calendar days as whole numbers (days since 1970-01-01). RFM works in days: recency is a
 * count of whole days, periods end on a day, and a day number compares and subtracts exactly.
 */

const MS_PER_DAY = 86_400_000;

const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

// A date-time without a zone is read as UTC, as everywhere else in Braid, so a score never
// depends on the time zone of the machine that computes it.
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** The day number of a `YYYY-MM-DD` calendar day, or undefined when it is not a real date. */
export function parseIsoDay(text: string): number | undefined {
  const match = ISO_DAY.exec(text);
  if (match === null) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(year, month - 1, day);
  const back = new Date(ms);
  // Date.UTC rolls 2026-02-30 over to March; a date that does not round-trip does not exist.
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1) return undefined;
  if (back.getUTCDate() !== day) return undefined;
  return ms / MS_PER_DAY;
}

/**
 * The UTC day of an order date: a `YYYY-MM-DD` day, an ISO 8601 date-time (UTC when it has no
 * zone) or a Date. Returns undefined for anything else, so the caller can name the order.
 */
export function toUtcDay(date: string | Date): number | undefined {
  if (date instanceof Date) {
    const ms = date.getTime();
    return Number.isNaN(ms) ? undefined : Math.floor(ms / MS_PER_DAY);
  }
  const text = date.trim();
  const day = parseIsoDay(text);
  if (day !== undefined) return day;
  if (!ISO_DATE_TIME.test(text)) return undefined;
  if (parseIsoDay(text.slice(0, 10)) === undefined) return undefined;
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(text);
  const ms = Date.parse(hasZone ? text.replace(' ', 'T') : `${text.replace(' ', 'T')}Z`);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / MS_PER_DAY);
}

/** The `YYYY-MM-DD` text of a day number. */
export function isoDay(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/** Year, month (1–12) and day of month of a day number, in UTC. */
export function dayParts(day: number): { year: number; month: number; dayOfMonth: number } {
  const date = new Date(day * MS_PER_DAY);
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    dayOfMonth: date.getUTCDate(),
  };
}

/** The day number of a calendar date; `month` may run past 12 or below 1 and rolls the year. */
export function dayOf(year: number, month: number, dayOfMonth: number): number {
  return Date.UTC(year, month - 1, dayOfMonth) / MS_PER_DAY;
}
