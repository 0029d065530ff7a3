import type { Knex } from 'knex';
import type { BraidConfig } from '../config/schema';

/** What every activity needs; the worker builds it once from the validated config. */
export interface ActivityDeps {
  config: BraidConfig;
  db: Knex;
  /** Clock in ms; tests may pin it. */
  now?: () => number;
}

export function clock(deps: ActivityDeps): number {
  return deps.now ? deps.now() : Date.now();
}
