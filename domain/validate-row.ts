import type { FieldType } from '../config/schema';
import { isBlank, isValidEmail, normalizeDate, parseDecimal, parseTimestampMs } from './normalize';

export type RowCheck =
  { ok: true; values: Record<string, string> } | { ok: false; field: string; reason: string };

/**
 * Checks one incoming row against the dataset's declared field types and returns the values to
 * stage: every value trimmed, emails lower-cased, dates in ISO form (a day stays a day; a
 * date-time becomes the UTC instant, so its zone is never dropped). Blank values are allowed
 * (they are simply missing); a value that is present but malformed rejects the row. Reasons
 * never quote emails, phones or dates: they are personal data and end up in reports.
 */
export function validateRow(
  values: Record<string, string>,
  fields: Record<string, FieldType>,
): RowCheck {
  const out: Record<string, string> = {};
  for (const [column, raw] of Object.entries(values)) out[column] = raw.trim();

  for (const [field, type] of Object.entries(fields)) {
    const value = out[field];
    if (value === undefined || isBlank(value)) continue;
    switch (type) {
      case 'email':
        if (!isValidEmail(value)) return { ok: false, field, reason: 'malformed email' };
        out[field] = value.toLowerCase();
        break;
      case 'date': {
        const iso = normalizeDateOrTime(value);
        if (!iso) return { ok: false, field, reason: 'not a date' };
        out[field] = iso;
        break;
      }
      case 'number':
        if (parseDecimal(value) === undefined)
          return { ok: false, field, reason: `not a number: "${value}"` };
        break;
      case 'boolean':
        if (!/^(true|false|1|0|yes|no|y|n)$/i.test(value)) {
          return { ok: false, field, reason: `not a boolean: "${value}"` };
        }
        break;
      case 'phone':
        if (value.replace(/\D+/g, '').length < 6)
          return { ok: false, field, reason: 'malformed phone' };
        break;
      case 'string':
        break;
    }
  }
  return { ok: true, values: out };
}

/**
 * A day as YYYY-MM-DD; a date-time as the UTC instant (`2025-12-31T23:59:59-01:00` is
 * `2026-01-01T00:59:59.000Z`). Cutting a zoned date-time to its written day would move events
 * to the wrong day and send them to Braze at the wrong time.
 */
function normalizeDateOrTime(value: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d/.test(value)) return normalizeDate(value);
  const ms = parseTimestampMs(value);
  return ms === undefined ? undefined : new Date(ms).toISOString();
}
