import type { Knex } from 'knex';

/** The first schema: staging, identity, watermarks, destination state, outbox, runs, errors. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('source_records', (t) => {
    t.increments('id').primary();
    t.string('source', 100).notNullable();
    t.string('record_key', 500).notNullable();
    t.text('payload').notNullable();
    t.string('content_hash', 64).notNullable();
    t.bigInteger('source_updated_at_ms').nullable();
    t.bigInteger('staged_at_ms').notNullable();
    t.string('origin', 1000).notNullable();
    t.unique(['source', 'record_key']);
  });

  await knex.schema.createTable('source_files', (t) => {
    t.string('source', 100).notNullable();
    t.string('file_name', 500).notNullable();
    t.bigInteger('size_bytes').notNullable();
    t.bigInteger('modified_at_ms').notNullable();
    t.string('status', 20).notNullable();
    t.integer('lines_done').notNullable().defaultTo(0);
    t.integer('rows_staged').notNullable().defaultTo(0);
    t.integer('rows_rejected').notNullable().defaultTo(0);
    t.string('run_id', 200).nullable();
    t.bigInteger('imported_at_ms').nullable();
    t.primary(['source', 'file_name']);
  });

  await knex.schema.createTable('golden_records', (t) => {
    t.increments('id').primary();
    t.string('master_id', 64).notNullable().unique();
    t.string('dataset', 100).notNullable();
    t.string('status', 20).notNullable();
    t.string('merged_into', 64).nullable();
    t.text('attributes').notNullable();
    t.text('source_keys').notNullable();
    t.bigInteger('created_at_ms').notNullable();
    t.bigInteger('updated_at_ms').notNullable();
    t.index(['dataset', 'status']);
  });

  // One link per record and dataset: a source may feed several datasets.
  await knex.schema.createTable('identity_links', (t) => {
    t.integer('source_record_id').notNullable().references('source_records.id').onDelete('CASCADE');
    t.string('dataset', 100).notNullable();
    t.string('master_id', 64).notNullable().index();
    t.primary(['dataset', 'source_record_id']);
  });

  await knex.schema.createTable('identity_events', (t) => {
    t.increments('id').primary();
    t.string('dataset', 100).notNullable();
    t.string('kind', 20).notNullable();
    t.string('master_id', 64).notNullable();
    t.string('other_master_id', 64).notNullable();
    t.string('rule', 200).notNullable();
    t.string('run_id', 200).nullable();
    t.bigInteger('at_ms').notNullable();
  });

  await knex.schema.createTable('watermarks', (t) => {
    t.string('source', 100).primary();
    t.text('cursor').notNullable();
    t.bigInteger('updated_at_ms').notNullable();
  });

  await knex.schema.createTable('destination_state', (t) => {
    t.string('sync_id', 100).notNullable();
    t.string('master_id', 64).notNullable();
    t.string('external_id', 500).notNullable();
    t.text('attributes').notNullable();
    t.bigInteger('created_at_ms').notNullable();
    t.bigInteger('last_sent_at_ms').notNullable();
    t.primary(['sync_id', 'master_id']);
  });

  await knex.schema.createTable('outbox', (t) => {
    t.string('run_id', 200).notNullable();
    t.integer('batch_no').notNullable();
    t.string('sync_id', 100).notNullable();
    t.string('status', 20).notNullable();
    t.text('items').notNullable();
    t.integer('item_count').notNullable();
    t.integer('attribute_count').notNullable();
    t.integer('rejected_count').notNullable().defaultTo(0);
    t.integer('attempts').notNullable().defaultTo(0);
    t.bigInteger('sent_at_ms').nullable();
    t.text('error').nullable();
    t.primary(['run_id', 'batch_no']);
  });

  await knex.schema.createTable('runs', (t) => {
    t.string('run_id', 200).primary();
    t.string('sync_id', 100).notNullable().index();
    t.string('trigger', 50).notNullable();
    t.string('status', 20).notNullable();
    t.bigInteger('started_at_ms').notNullable();
    t.bigInteger('finished_at_ms').nullable();
    t.text('counts').notNullable();
    t.bigInteger('data_points_before').nullable();
    t.text('report').nullable();
  });

  await knex.schema.createTable('row_errors', (t) => {
    t.increments('id').primary();
    t.string('run_id', 200).notNullable().index();
    t.string('stage', 20).notNullable();
    t.string('source', 100).nullable();
    t.string('file_name', 500).nullable();
    t.integer('line').nullable();
    t.string('record_key', 500).nullable();
    t.string('field', 200).nullable();
    t.text('reason').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'row_errors',
    'runs',
    'outbox',
    'destination_state',
    'watermarks',
    'identity_events',
    'identity_links',
    'golden_records',
    'source_files',
    'source_records',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
