import type { Knex } from 'knex';

/**
 * Outbox batches of more than one kind: `track` (attribute updates, every batch so far),
 * `merge` (profiles merged into their kept master) and `delete` (profiles of retired golden
 * records). Delivery sends batches in number order whatever their kind.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbox', (t) => {
    t.string('kind', 20).notNullable().defaultTo('track');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbox', (t) => {
    t.dropColumn('kind');
  });
}
