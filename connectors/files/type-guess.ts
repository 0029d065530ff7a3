import { hasDecimalComma, parseLocaleNumber } from './number-locale';

/** A column of a sampled file with the type its values suggest, for review before a sync. */
export interface GuessedColumn {
  name: string;
  /** string, email, phone, date, number or boolean. */
  type: string;
  /** Sampled records that have a non-blank value in this column. */
  filled: number;
  /** Sampled values that fit `type` (all of `filled` unless the type is string). */
  matching: number;
  /** Why the guess needs a person: decimal commas with no locale declared (BL-08). */
  note?: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const BOOLEAN = /^(true|false|yes|no|y|n)$/i;
const PHONE = /^\+?[\d\s().-]{6,20}$/;

type Test = (value: string) => boolean;

/**
 * Guesses each column's type from sampled values. A type wins when every non-blank value fits
 * it; checks run from the narrowest type (boolean, number, date, email, phone) to string. Plain
 * numbers are numbers; with `numberLocale`, numbers written in that locale are too; without one,
 * a column whose values use decimal commas stays string with a note, never a wrong number.
 */
export function guessColumnTypes(
  columns: string[],
  rows: Record<string, string>[],
  numberLocale?: string,
): GuessedColumn[] {
  const isNumber: Test = (v) =>
    numberLocale !== undefined
      ? parseLocaleNumber(v, numberLocale) !== undefined
      : v !== '' && Number.isFinite(Number(v));
  const tests: [string, Test][] = [
    ['boolean', (v) => BOOLEAN.test(v)],
    ['number', isNumber],
    ['date', (v) => DATE.test(v) && !Number.isNaN(Date.parse(v.slice(0, 10)))],
    ['email', (v) => EMAIL.test(v)],
    ['phone', (v) => PHONE.test(v) && v.replace(/\D/g, '').length >= 6],
  ];
  return columns.map((name) => {
    const values = rows.map((row) => (row[name] ?? '').trim()).filter((v) => v !== '');
    const fit = tests.find(([, test]) => values.length > 0 && values.every(test));
    const column: GuessedColumn = {
      name,
      type: fit?.[0] ?? 'string',
      filled: values.length,
      matching: values.length,
    };
    if (fit === undefined && numberLocale === undefined && values.some(hasDecimalComma)) {
      column.matching = values.filter(hasDecimalComma).length;
      column.note = 'decimal commas: declare format.numberLocale to read it as a number';
    }
    return column;
  });
}
