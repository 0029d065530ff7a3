import { z } from 'zod';

import { ComputedField, EventColumns, LinkConfig } from './links';
import { Recipe } from './recipes';
import { ScoresConfig } from './scores';

export * from './links';
export * from './recipes';
export * from './scores';

/** `profiles` are unified into golden records; `events` keep one row per staged record. */
export const DatasetKind = z.enum(['profiles', 'events']);
export type DatasetKind = z.infer<typeof DatasetKind>;

/**
 * The dataset settings beyond identity: spread into DatasetConfig's object so that one schema
 * validates (and reports paths for) the whole dataset.
 */
export const DATASET_PREPARATION = {
  kind: DatasetKind.default('profiles'),
  /** Events datasets: which columns hold the customer, date, amount and order id. */
  events: EventColumns.optional(),
  /** Applied in list order; see RecipeLevel for when each runs. */
  recipes: z.array(Recipe).default([]),
  links: z.record(z.string(), LinkConfig).default({}),
  computed: z.record(z.string(), ComputedField).default({}),
  scores: ScoresConfig.optional(),
  /**
   * The day computed fields and scores are taken as of (YYYY-MM-DD). By default the run's start:
   * fix it to score a historical file, as the CDNOW example does.
   */
  asOf: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'use YYYY-MM-DD')
    .optional(),
};
