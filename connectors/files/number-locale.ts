/**
 * Numbers written the way a locale writes them (BL-08): `1.234,50` in de-DE is 1234.5. European
 * spreadsheet exports use decimal commas, and reading them as plain numbers gives 1.234 or 89.
 */

/** The group and decimal marks of a locale, as `Intl` formats numbers there. */
export interface NumberMarks {
  group: string;
  decimal: string;
}

const marksCache = new Map<string, NumberMarks>();

/** Group and decimal marks of `locale` (`de-DE` → `.` and `,`). */
export function numberMarks(locale: string): NumberMarks {
  let marks = marksCache.get(locale);
  if (marks === undefined) {
    const parts = new Intl.NumberFormat(locale, { useGrouping: true }).formatToParts(1234567.5);
    marks = {
      group: parts.find((p) => p.type === 'group')?.value ?? ',',
      decimal: parts.find((p) => p.type === 'decimal')?.value ?? '.',
    };
    marksCache.set(locale, marks);
  }
  return marks;
}

/**
 * Reads `text` as a number written in `locale` and returns it in plain form (`1234.5`), or
 * undefined when it is not one. Group marks must separate groups of three digits, so `89.90` is
 * not a de-DE number (it would be 8990 read loosely). Spaces that French and Swiss exports use
 * as group marks (U+0020, U+00A0, U+202F, and `'`) count as the locale's group mark.
 */
export function parseLocaleNumber(text: string, locale: string): string | undefined {
  const { group, decimal } = numberMarks(locale);
  const value = text.trim();
  const groupClass =
    /\s/.test(group) || group === "'" || group === '\u2019'
      ? "[\\s\\u00a0\\u202f'\\u2019]"
      : escapeRegExp(group);
  const shape = new RegExp(
    `^([+-]?)(\\d{1,3}(?:${groupClass}\\d{3})+|\\d+)(?:${escapeRegExp(decimal)}(\\d+))?$`,
  );
  const match = shape.exec(value);
  if (match === null) return undefined;
  const [, sign, whole, fraction] = match;
  const digits = whole!.replace(/\D/g, '');
  const number = Number(`${sign}${digits}${fraction === undefined ? '' : `.${fraction}`}`);
  return Number.isFinite(number) ? String(number) : undefined;
}

/**
 * True when `text` is not a plain number but is one with a decimal comma (`89,90`, `1.234,50`):
 * the file was written in a comma-decimal locale that the source does not declare.
 */
export function hasDecimalComma(text: string): boolean {
  return /^[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+$/.test(text.trim());
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Values after number conversion, and the number fields left as text for type review. */
export type NumberConversion =
  | { ok: true; values: Record<string, string>; flagged: string[] }
  | { ok: false; field: string; reason: string };

/**
 * Converts the declared number fields of one record. With a locale, each present value must be
 * a number written in that locale and becomes its plain form (`1.234,50` → `1234.5`); without
 * one, a value with a decimal comma is kept as text and its field is flagged, since reading it
 * as a plain number would give 1.234 or 89. Returns a new object; `values` is not changed.
 */
export function convertNumbers(
  values: Record<string, string>,
  numberFields: string[],
  locale: string | undefined,
): NumberConversion {
  const out = { ...values };
  const flagged: string[] = [];
  for (const field of numberFields) {
    const raw = out[field];
    if (raw === undefined || raw.trim() === '') continue;
    if (locale !== undefined) {
      const plain = parseLocaleNumber(raw, locale);
      if (plain === undefined) return { ok: false, field, reason: `not a ${locale} number` };
      out[field] = plain;
    } else if (!Number.isFinite(Number(raw.trim())) && hasDecimalComma(raw)) {
      flagged.push(field);
    }
  }
  return { ok: true, values: out, flagged };
}
