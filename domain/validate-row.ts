import type { FieldType } from '../config/schema';
import { isBlank, isValidEmail, normalizeDate } from './normalize';

export type RowCheck =
  | { ok: true; values: Record<string, string> }
  | { ok: false; field: string; reason: string };

/**
 * Checks one incoming row against the dataset's declared field types and returns the values to
 * stage: every value trimmed, emails lower-cased, dates in ISO form. Blank values are allowed
 * (they are simply missing); a value that is present but malformed rejects the row. Reasons
 * never quote emails, phones or dates: they are personal data and end up in reports.
 */
export function validateRow(values: Record<string, string>, fields: Record<string, FieldType>): RowCheck {
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
        const iso = normalizeDate(value);
        if (!iso) return { ok: false, field, reason: 'not a date' };
        out[field] = iso;
        break;
      }
      case 'number':
        if (!Number.isFinite(Number(value))) return { ok: false, field, reason: `not a number: "${value}"` };
        break;
      case 'boolean':
        if (!/^(true|false|1|0|yes|no|y|n)$/i.test(value)) {
          return { ok: false, field, reason: `not a boolean: "${value}"` };
        }
        break;
      case 'phone':
        if (value.replace(/\D+/g, '').length < 6) return { ok: false, field, reason: 'malformed phone' };
        break;
      case 'string':
        break;
    }
  }
  return { ok: true, values: out };
}
