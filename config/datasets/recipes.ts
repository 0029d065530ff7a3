import { z } from 'zod';

const Columns = z.array(z.string().min(1)).min(1);

/**
 * Where a recipe runs. `source`: on each staged record as it is read, before dedup, so it
 * decides matching (a change re-unifies the dataset). `golden`: on the golden record after
 * unify (a change only re-prepares). Events datasets have no golden records: theirs run at
 * source level. Default: `golden` on profiles, `source` on events.
 */
export const RecipeLevel = z.enum(['source', 'golden']);
export type RecipeLevel = z.infer<typeof RecipeLevel>;

/** What a recipe does with a value it cannot normalize: keep it as it is, or blank it. */
const Invalid = z.enum(['keep', 'blank']).default('blank');

const common = {
  level: RecipeLevel.optional(),
  /** Source-level only: the sources whose records it applies to (default: all). */
  sources: z.array(z.string().min(1)).min(1).optional(),
};

/** A test on one column, used by `drop` recipes and computed-field filters. */
export const Condition = z
  .object({
    column: z.string().min(1),
    equals: z.string().optional(),
    in: z.array(z.string()).min(1).optional(),
    blank: z.boolean().optional(),
    /** A regular expression the value must match (JavaScript syntax, no slashes). */
    matches: z.string().refine(isRegExp, 'must be a valid regular expression').optional(),
    /** Compare equals/in without regard to case. */
    ignoreCase: z.boolean().default(false),
  })
  .strict()
  .refine(
    (c) => [c.equals, c.in, c.blank, c.matches].filter((v) => v !== undefined).length === 1,
    'give exactly one of equals, in, blank or matches',
  );
export type Condition = z.infer<typeof Condition>;

export const Recipe = z.discriminatedUnion('type', [
  z.object({ type: z.literal('email'), columns: Columns, invalid: Invalid, ...common }).strict(),
  z
    .object({
      type: z.literal('phone'),
      columns: Columns,
      /** ISO 3166 alpha-2 for numbers without a prefix; default: the dataset's defaultCountry. */
      defaultCountry: z.string().length(2).optional(),
      /** A column holding each row's country (name or code), tried before defaultCountry. */
      countryColumn: z.string().min(1).optional(),
      invalid: Invalid,
      ...common,
    })
    .strict(),
  z.object({ type: z.literal('name'), columns: Columns, ...common }).strict(),
  z.object({ type: z.literal('country'), columns: Columns, invalid: Invalid, ...common }).strict(),
  z
    .object({
      type: z.literal('datetime'),
      columns: Columns,
      /**
       * IANA zone the wall-clock values are in, e.g. Europe/Paris; values with an offset keep it.
       */
      timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Paris'),
      /** How a date is written: ISO (YYYY-MM-DD), day first (DD/MM/YYYY) or month first. */
      format: z.enum(['iso', 'dmy', 'mdy']).default('iso'),
      invalid: Invalid,
      ...common,
    })
    .strict(),
  z
    .object({
      type: z.literal('trim'),
      columns: Columns,
      /** Also collapse inner runs of spaces into one. */
      collapse: z.boolean().default(true),
      case: z.enum(['lower', 'upper', 'title']).optional(),
      ...common,
    })
    .strict(),
  z
    .object({
      type: z.literal('map'),
      columns: Columns,
      values: z.record(z.string(), z.string()),
      ignoreCase: z.boolean().default(true),
      /** Value for a non-blank value that is not in the table; by default it is kept. */
      otherwise: z.string().optional(),
      ...common,
    })
    .strict(),
  z
    .object({ type: z.literal('default'), column: z.string().min(1), value: z.string(), ...common })
    .strict(),
  z.object({ type: z.literal('drop'), when: Condition, ...common }).strict(),
  z
    .object({
      type: z.literal('derive'),
      column: z.string().min(1),
      /** concat, coalesce, lower, upper, trim, substring of columns and 'literals'. */
      expression: z.string().min(1),
      ...common,
    })
    .strict(),
]);
export type Recipe = z.infer<typeof Recipe>;

function isRegExp(value: string): boolean {
  try {
    new RegExp(value);
    return true;
  } catch {
    return false;
  }
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
