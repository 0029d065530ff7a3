import type { Knex } from 'knex';

/**
 * Where an events dataset's materialization stands in the source change sequence of
 * migration 010, so an incremental prepare reads exactly the records changed since the last
 * one, as unify does, instead of those staged within a clock margin of its last run (a
 * staging transaction that committed late with an earlier clock could fall outside the margin).
 * Null until the first prepare after this migration, which still uses the staging time once.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('prepared_state', (t) => {
    t.bigInteger('change_seq_from').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('prepared_state', (t) => t.dropColumn('change_seq_from'));
}
