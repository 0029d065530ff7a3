import type { Knex } from 'knex';

/**
 * An incremental unify looks only at records staged since the previous one (minus a margin),
 * instead of joining every source record against the memberships on every run.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('identity_state', (t) => {
    t.bigInteger('staged_until_ms').nullable();
  });
  await knex.schema.alterTable('source_records', (t) => {
    t.index(['staged_at_ms'], 'source_records_staged_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('source_records', (t) =>
    t.dropIndex(['staged_at_ms'], 'source_records_staged_at'),
  );
  await knex.schema.alterTable('identity_state', (t) => t.dropColumn('staged_until_ms'));
}
