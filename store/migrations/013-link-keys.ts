import type { Knex } from 'knex';

/**
 * Links of golden records that hold several customer keys. Two records with different customer
 * ids merged by email are one person with two ids: both ids' events are theirs. `link_keys`
 * lists every key of such a golden record (records with one key, nearly all, are not listed:
 * their golden field is the key); `prepared_master_aggregates` keeps the computed values and
 * RFM aggregates of each, computed over the events of all its keys at once.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('link_keys', (t) => {
    t.string('dataset', 100).notNullable();
    t.string('link', 100).notNullable();
    t.string('master_id', 64).notNullable();
    t.text('customer_key').notNullable();
    t.primary(['dataset', 'link', 'master_id', 'customer_key']);
    t.index(['dataset', 'link', 'customer_key'], 'link_keys_customer');
  });
  await knex.schema.createTable('prepared_master_aggregates', (t) => {
    t.string('dataset', 100).notNullable();
    t.string('link', 100).notNullable();
    t.string('master_id', 64).notNullable();
    t.text('vals').notNullable();
    t.primary(['dataset', 'link', 'master_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('prepared_master_aggregates');
  await knex.schema.dropTableIfExists('link_keys');
}
