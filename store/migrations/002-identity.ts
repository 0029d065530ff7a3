import type { Knex } from 'knex';

/**
 * The incremental identity engine: a key index, one membership row per source record (which
 * may be held back as ambiguous), per-dataset engine state, and soft deletes of source records.
 * Replaces identity_links, whose rows are carried over.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('source_records', (t) => {
    t.bigInteger('deleted_at_ms').nullable();
  });

  await knex.schema.createTable('identity_keys', (t) => {
    t.string('dataset', 100).notNullable();
    t.string('key_name', 200).notNullable();
    t.string('value', 1000).notNullable();
    t.integer('record_id').notNullable();
    t.string('kind', 10).notNullable();
    // Covering index: components are found by scanning it in (key, value) order.
    t.index(['dataset', 'key_name', 'value', 'record_id'], 'identity_keys_value');
    t.index(['dataset', 'record_id'], 'identity_keys_record');
  });

  await knex.schema.createTable('identity_members', (t) => {
    t.string('dataset', 100).notNullable();
    t.integer('record_id').notNullable();
    /** golden_records.id; null while the record is held back as ambiguous. */
    t.integer('golden_id').nullable();
    t.string('state', 20).notNullable();
    /** The source record's content hash when it was last unified: a change re-unifies it. */
    t.string('content_hash', 64).notNullable();
    t.primary(['dataset', 'record_id']);
    t.index(['dataset', 'golden_id'], 'identity_members_golden');
  });

  await knex.schema.createTable('identity_state', (t) => {
    t.string('dataset', 100).primary();
    t.string('rules_hash', 64).notNullable();
    t.bigInteger('updated_at_ms').notNullable();
  });

  await knex.schema.alterTable('golden_records', (t) => {
    t.text('linked_by').nullable();
    t.integer('member_count').nullable();
  });
  await knex.schema.alterTable('identity_events', (t) => {
    t.text('detail').nullable();
  });

  await knex.raw(`
    INSERT INTO identity_members (dataset, record_id, golden_id, state, content_hash)
    SELECT l.dataset, l.source_record_id, g.id, 'linked', ''
    FROM identity_links l JOIN golden_records g ON g.master_id = l.master_id`);
  await knex.schema.dropTable('identity_links');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.createTable('identity_links', (t) => {
    t.integer('source_record_id').notNullable().references('source_records.id').onDelete('CASCADE');
    t.string('dataset', 100).notNullable();
    t.string('master_id', 64).notNullable().index();
    t.primary(['dataset', 'source_record_id']);
  });
  await knex.raw(`
    INSERT INTO identity_links (source_record_id, dataset, master_id)
    SELECT m.record_id, m.dataset, g.master_id
    FROM identity_members m JOIN golden_records g ON g.id = m.golden_id`);
  for (const table of ['identity_state', 'identity_members', 'identity_keys']) {
    await knex.schema.dropTableIfExists(table);
  }
  await knex.schema.alterTable('identity_events', (t) => t.dropColumn('detail'));
  await knex.schema.alterTable('golden_records', (t) => {
    t.dropColumn('linked_by');
    t.dropColumn('member_count');
  });
  await knex.schema.alterTable('source_records', (t) => t.dropColumn('deleted_at_ms'));
}
