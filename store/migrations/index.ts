import type { Knex } from 'knex';
import * as init from './001-init';

/**
 * Migrations are listed in code rather than read from a folder, so they run the same from the
 * TypeScript sources (tests) and from the compiled output (the CLI).
 */
const MIGRATIONS: Record<string, Knex.Migration> = { '001-init': init };

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name]!,
};
