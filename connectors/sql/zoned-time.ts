/**
 * Date-time text as SQL databases print it, converted without ever using the process time zone:
 * every conversion goes through Date.UTC and Intl with an explicit zone, so the same rows give the
 * same instants under TZ=UTC, Europe/Paris or America/Los_Angeles.
 */

/** 'UTC' or an IANA zone name; the zone in which column values without an offset are read. */
export type ZoneName = string;

export const UTC: ZoneName = 'UTC';

// `2026-03-29`, `2026-03-29 01:30`, `2026-03-29T01:30:00.123456`, with an optional `Z`, `+02`,
// `+02:00` or `-0530` offset: what PostgreSQL, MySQL and SQLite print, and ISO 8601.
const TIME_TEXT = new RegExp(
  '^(\\d{4})-(\\d{2})-(\\d{2})' +
    '(?:[T ](\\d{2}):(\\d{2})(?::(\\d{2})(?:\\.(\\d{1,9}))?)?)?' +
    '\\s*(Z|[+-]\\d{2}(?::?\\d{2})?)?$',
  'i',
);

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
}

/** Whether `zone` is a time zone this runtime knows (IANA names, plus 'UTC'). */
export function isKnownZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses date-time text to epoch ms (UTC). Text with an offset is that exact instant; text
 * without one is wall time in `zone`. Fractions beyond milliseconds are truncated. Returns null
 * for anything else (`infinity`, MySQL's zero date, free text).
 */
export function parseTimeText(text: string, zone: ZoneName): number | null {
  const m = TIME_TEXT.exec(text.trim());
  if (!m) return null;
  const wall: WallTime = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4] ?? 0),
    minute: Number(m[5] ?? 0),
    second: Number(m[6] ?? 0),
    ms: Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3)),
  };
  if (!isValidWall(wall)) return null;
  const offset = m[8];
  if (offset === undefined) return wallToInstant(wall, zone);
  return utcOf(wall) - offsetTextMs(offset);
}

/**
 * Wall time in `zone` as an instant. A wall time that a DST change skips (02:30 in Paris on
 * 2026-03-29) moves forward by the gap; one that occurs twice (02:30 on 2026-10-25) takes the
 * first occurrence. This matches java.time and Temporal's "compatible" choice.
 */
function wallToInstant(wall: WallTime, zone: ZoneName): number {
  const local = utcOf(wall);
  if (zone === UTC) return local;
  const DAY_MS = 86_400_000;
  const before = zoneOffsetMs(local - DAY_MS, zone);
  const after = zoneOffsetMs(local + DAY_MS, zone);
  const valid = [before, after]
    .map((offset) => local - offset)
    .filter((instant) => local - zoneOffsetMs(instant, zone) === instant)
    .sort((a, b) => a - b);
  return valid[0] ?? local - before;
}

/** Formats an instant as `YYYY-MM-DD HH:MM:SS.mmm` wall time in `zone`. */
export function formatWallTime(instantMs: number, zone: ZoneName): string {
  const offsetMs = zone === UTC ? 0 : zoneOffsetMs(instantMs, zone);
  const iso = new Date(instantMs + offsetMs).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/** `YYYY-MM-DD HH:MM:SS` when the milliseconds are zero, else with `.mmm`: how servers print. */
export function formatWallTimeShort(instantMs: number, zone: ZoneName): string {
  const full = formatWallTime(instantMs, zone);
  return full.endsWith('.000') ? full.slice(0, 19) : full;
}

/** The calendar date of an instant in `zone`, `YYYY-MM-DD`. */
export function formatWallDate(instantMs: number, zone: ZoneName): string {
  return formatWallTime(instantMs, zone).slice(0, 10);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Offset of `zone` from UTC at an instant, in ms (Paris in summer: +7,200,000). */
function zoneOffsetMs(instantMs: number, zone: ZoneName): number {
  let format = formatters.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, format);
  }
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(instantMs)) parts[part.type] = Number(part.value);
  const wholeSecond = Math.floor(instantMs / 1000) * 1000;
  const wall = Date.UTC(
    parts.year!,
    parts.month! - 1,
    parts.day!,
    parts.hour!,
    parts.minute!,
    parts.second!,
  );
  return wall - wholeSecond;
}

function utcOf(w: WallTime): number {
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear keeps them as written.
  const date = new Date(Date.UTC(2000, w.month - 1, w.day, w.hour, w.minute, w.second, w.ms));
  date.setUTCFullYear(w.year);
  return date.getTime();
}

function isValidWall(w: WallTime): boolean {
  if (w.month < 1 || w.month > 12 || w.day < 1 || w.hour > 23 || w.minute > 59) return false;
  if (w.second > 59) return false;
  const date = new Date(utcOf(w));
  return date.getUTCMonth() === w.month - 1 && date.getUTCDate() === w.day;
}

function offsetTextMs(offset: string): number {
  if (offset.toUpperCase() === 'Z') return 0;
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2, 4) || '0');
  return sign * (hours * 60 + minutes) * 60_000;
}
