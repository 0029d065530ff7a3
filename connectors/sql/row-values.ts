import type { ColumnKind } from './column-types';
import { UTC, parseTimeText, type ZoneName } from './zoned-time';

/**
 * One column value as `SourceRecord.values` text: null is '', numbers and booleans their text,
 * date-times an ISO 8601 UTC instant (`2026-03-29T01:30:00.000Z`), dates `YYYY-MM-DD`, binary
 * `\x` and hex as PostgreSQL prints it, arrays their JSON. A date-time that does not parse
 * (PostgreSQL `infinity`, MySQL's zero date) stays as the server printed it.
 */
export function valueText(value: unknown, kind: ColumnKind, zone: ZoneName): string {
  if (value === null || value === undefined) return '';
  if (kind === 'boolean' && (typeof value === 'number' || typeof value === 'bigint')) {
    return value === 0 || value === 0n ? 'false' : 'true';
  }
  if (typeof value === 'string') {
    if (kind === 'timestamp' || kind === 'timestamptz') {
      const ms = parseTimeText(value, kind === 'timestamptz' ? UTC : zone);
      return ms === null ? value : new Date(ms).toISOString();
    }
    return value;
  }
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return String(value);
  }
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

/**
 * A column value as an instant (epoch ms, UTC): date-times and dates (midnight in `zone`);
 * date-time text in a text column too. Null for numbers, booleans and anything unparsable.
 */
export function instantOf(value: unknown, kind: ColumnKind, zone: ZoneName): number | null {
  if (typeof value !== 'string') return null;
  if (kind === 'number' || kind === 'boolean') return null;
  return parseTimeText(value, kind === 'timestamptz' ? UTC : zone);
}
