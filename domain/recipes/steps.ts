import type { Recipe } from '../../config/datasets/recipes';
import { normalizePhone } from '../identity/normalizers';
import { isBlank, isValidEmail } from '../normalize';
import { compileCondition } from './condition';
import { toCountryCode } from './countries';
import { evaluate, parseExpression } from './expression';
import { toUtc } from './zoned-time';

/** One compiled recipe: new values for a row, or null when the row is dropped. */
export type Step = (values: Record<string, string>) => Record<string, string> | null;

/** Context a recipe needs beyond its own settings. */
export interface StepContext {
  /** Named in configuration errors, e.g. `datasets.customers.recipes.2`. */
  where: string;
  defaultCountry?: string;
}

/**
 * Compiles one recipe. Steps never modify the values they are given: each returns a new
 * object (or the same one when nothing changed). Blank values are left alone by every recipe
 * but `default`, `derive` and `drop`.
 */
export function compileStep(recipe: Recipe, context: StepContext): Step {
  switch (recipe.type) {
    case 'email':
      return perColumn(recipe.columns, (v) => {
        const email = v.trim().toLowerCase();
        return isValidEmail(email) ? email : invalid(recipe.invalid, v);
      });
    case 'phone': {
      const fallback = recipe.defaultCountry ?? context.defaultCountry;
      return (values) => {
        const rowCountry = recipe.countryColumn
          ? toCountryCode(values[recipe.countryColumn] ?? '')
          : undefined;
        const country = rowCountry ?? fallback;
        return perColumn(
          recipe.columns,
          (v) => normalizePhoneSafe(v, country) ?? invalid(recipe.invalid, v),
        )(values);
      };
    }
    case 'name':
      return perColumn(recipe.columns, normalizeName);
    case 'country':
      return perColumn(recipe.columns, (v) => toCountryCode(v) ?? invalid(recipe.invalid, v));
    case 'datetime':
      return perColumn(
        recipe.columns,
        (v) => toUtc(v, recipe.timeZone, recipe.format) ?? invalid(recipe.invalid, v),
      );
    case 'trim':
      return perColumn(recipe.columns, (v) => {
        const text = recipe.collapse ? v.trim().replace(/\s+/g, ' ') : v.trim();
        if (recipe.case === 'lower') return text.toLowerCase();
        if (recipe.case === 'upper') return text.toUpperCase();
        return recipe.case === 'title' ? titleCase(text.toLowerCase()) : text;
      });
    case 'map': {
      const fold = (v: string) => (recipe.ignoreCase ? v.trim().toLowerCase() : v.trim());
      const table = new Map(Object.entries(recipe.values).map(([from, to]) => [fold(from), to]));
      return perColumn(recipe.columns, (v) => table.get(fold(v)) ?? recipe.otherwise ?? v);
    }
    case 'default':
      return (values) =>
        isBlank(values[recipe.column]) ? { ...values, [recipe.column]: recipe.value } : values;
    case 'drop': {
      const test = compileCondition(recipe.when);
      return (values) => (test(values) ? null : values);
    }
    case 'derive': {
      const expression = parseExpression(recipe.expression, `${context.where}.expression`);
      return (values) => ({ ...values, [recipe.column]: evaluate(expression, values) });
    }
  }
}

/**
 * Trims, collapses inner spaces and title-cases a name written all in one case ("JEAN-PIERRE
 * O'NEIL" → "Jean-Pierre O'Neil"). A name already in mixed case keeps its case: "McDonald" or
 * "van der Berg" were written that way on purpose.
 */
export function normalizeName(raw: string): string {
  const text = raw.trim().replace(/\s+/g, ' ');
  const mixed = text !== text.toLowerCase() && text !== text.toUpperCase();
  return mixed ? text : titleCase(text.toLowerCase());
}

function titleCase(text: string): string {
  return text.replace(
    /(^|[\s\-'’.])(\p{L})/gu,
    (_, before: string, letter: string) => before + letter.toUpperCase(),
  );
}

function perColumn(columns: string[], fix: (value: string) => string): Step {
  return (values) => {
    let out = values;
    for (const column of columns) {
      const value = values[column];
      if (value === undefined || isBlank(value)) continue;
      const fixed = fix(value);
      if (fixed !== value) {
        if (out === values) out = { ...values };
        out[column] = fixed;
      }
    }
    return out;
  };
}

function invalid(mode: 'keep' | 'blank', value: string): string {
  return mode === 'keep' ? value : '';
}

// A row's country column may hold a code libphonenumber has no plan for (AQ, BV): no default.
function normalizePhoneSafe(raw: string, country: string | undefined): string | undefined {
  try {
    return normalizePhone(raw, country);
  } catch {
    return normalizePhone(raw);
  }
}
