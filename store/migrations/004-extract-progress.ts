import type { Knex } from 'knex';

/**
 * Per-run progress beside each pull source's cursor, written in the same transaction as the
 * cursor, so a retried extraction reports exact counts instead of counting a page twice.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('watermarks', (t) => {
    t.string('run_id', 200).nullable();
    t.integer('run_pages').notNullable().defaultTo(0);
    t.integer('run_records').notNullable().defaultTo(0);
    t.integer('run_rejected').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('watermarks', (t) => {
    t.dropColumn('run_id');
    t.dropColumn('run_pages');
    t.dropColumn('run_records');
    t.dropColumn('run_rejected');
  });
}
