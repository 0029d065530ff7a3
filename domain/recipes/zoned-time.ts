/**
 * Wall-clock date-times in a named time zone converted to UTC, with the zone rules of the
 * runtime's ICU data. A value that already carries `Z` or an offset keeps its own offset.
 */

export type DateOrder = 'iso' | 'dmy' | 'mdy';

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;
const SLASHED = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;

/**
 * The UTC instant of `raw` as `YYYY-MM-DDTHH:MM:SSZ` (milliseconds only when not zero), or
 * the day alone (`YYYY-MM-DD`) for a value without a time: a calendar day has no instant.
 * In a spring-forward gap the time moves forward by the gap (02:30 that never happened in
 * Paris is read as 03:30 local); in the autumn overlap the earlier instant is taken.
 * Returns undefined when the text is not a real date or time in the given order.
 */
export function toUtc(raw: string, timeZone: string, order: DateOrder = 'iso'): string | undefined {
  const parts = parse(raw.trim(), order);
  if (!parts) return undefined;
  const { y, mo, d, time } = parts;
  if (!isRealDay(y, mo, d)) return undefined;
  if (!time) return `${pad(y, 4)}-${pad(mo)}-${pad(d)}`;
  const { h, mi, s, ms, zone } = time;
  if (h > 23 || mi > 59 || s > 59) return undefined;

  const wall = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  let instant: number;
  if (zone) {
    const sign = zone.startsWith('-') ? -1 : 1;
    const offsetMin =
      zone.toUpperCase() === 'Z'
        ? 0
        : sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2)));
    instant = wall - offsetMin * 60_000;
  } else {
    instant = wallToInstant(wall, timeZone);
  }
  const iso = new Date(instant).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, 19)}Z` : iso;
}

/**
 * The instant whose wall clock in `timeZone` reads `wall` (wall-clock fields encoded as UTC ms).
 * Two passes of "subtract the offset in force" settle every case but a gap, where no instant
 * reads `wall`; the first guess, taken with the offset before the change, moves it forward.
 */
function wallToInstant(wall: number, timeZone: string): number {
  const before = wall - offsetMs(wall - 86_400_000, timeZone);
  const first = wall - offsetMs(wall, timeZone);
  const candidates = [before, first, wall - offsetMs(first, timeZone)];
  const exact = candidates.filter((t) => t + offsetMs(t, timeZone) === wall).sort((a, b) => a - b);
  return exact[0] ?? before;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's UTC offset at `instant`, in ms. */
function offsetMs(instant: number, timeZone: string): number {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, format);
  }
  const f: Record<string, number> = {};
  for (const part of format.formatToParts(new Date(instant))) f[part.type] = Number(part.value);
  const asUtc = Date.UTC(f.year!, f.month! - 1, f.day!, f.hour!, f.minute!, f.second!);
  return asUtc - (instant - (((instant % 1000) + 1000) % 1000));
}

interface Parts {
  y: number;
  mo: number;
  d: number;
  time?: { h: number; mi: number; s: number; ms: number; zone?: string };
}

function parse(text: string, order: DateOrder): Parts | undefined {
  const iso = ISO.exec(text);
  if (iso) {
    const [, y, mo, d, h, mi, s = '0', frac = '', zone] = iso;
    const parts: Parts = { y: Number(y), mo: Number(mo), d: Number(d) };
    if (h !== undefined) {
      const ms = Number(frac.slice(0, 3).padEnd(3, '0'));
      parts.time = { h: Number(h), mi: Number(mi), s: Number(s), ms, ...(zone ? { zone } : {}) };
    }
    return parts;
  }
  const slashed = order === 'iso' ? null : SLASHED.exec(text);
  if (!slashed) return undefined;
  const [, a, b, y, h, mi, s = '0'] = slashed;
  const [d, mo] = order === 'dmy' ? [a, b] : [b, a];
  const parts: Parts = { y: Number(y), mo: Number(mo), d: Number(d) };
  if (h !== undefined) parts.time = { h: Number(h), mi: Number(mi), s: Number(s), ms: 0 };
  return parts;
}

function isRealDay(y: number, mo: number, d: number): boolean {
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}
