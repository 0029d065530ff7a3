import type { Knex } from 'knex';

/**
 * Dataset preparation: events materialized with typed columns, per-customer aggregates of
 * linked events, the prepared attributes of each golden record, and per-dataset state.
 *
 * Events get a table of their own instead of being read from source_records' JSON payload at
 * every run: their recipes run once per change (not once per query), the customer key, day and
 * amount are typed and indexed on SQLite and PostgreSQL alike, and aggregates over millions of
 * orders are plain GROUP BYs. Other columns stay in `payload` (after recipes) and are read with
 * json_extract / ->> only by the computed fields that name them.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('prepared_events', (t) => {
    t.string('dataset', 100).notNullable();
    t.integer('record_id').notNullable();
    /** False for an event whose customer or date cannot be read: kept so it is not re-read. */
    t.boolean('usable').notNullable();
    t.string('customer_key', 500).notNullable();
    /** UTC day number (days since 1970-01-01) of the event's date. */
    t.integer('day').notNullable();
    /** The date as written after recipes (ISO day or UTC date-time): orders first/last. */
    t.string('at', 40).notNullable();
    t.double('amount').nullable();
    t.string('order_id', 500).nullable();
    t.text('payload').notNullable();
    /** The source record's content hash when materialized: a change re-materializes it. */
    t.string('content_hash', 64).notNullable();
    t.primary(['dataset', 'record_id']);
    t.index(['dataset', 'customer_key', 'day'], 'prepared_events_customer');
    t.index(['dataset', 'day'], 'prepared_events_day');
  });

  await knex.schema.createTable('prepared_aggregates', (t) => {
    t.string('dataset', 100).notNullable();
    t.string('link', 100).notNullable();
    t.string('customer_key', 500).notNullable();
    /** JSON: computed field values and RFM aggregates at each scoring day. */
    t.text('vals').notNullable();
    t.primary(['dataset', 'link', 'customer_key']);
  });

  await knex.schema.createTable('prepared_records', (t) => {
    t.string('dataset', 100).notNullable();
    t.string('master_id', 64).notNullable();
    /** JSON: golden attributes after recipes, plus computed fields and scores. */
    t.text('attributes').notNullable();
    t.string('hash', 64).notNullable();
    t.bigInteger('updated_at_ms').notNullable();
    t.primary(['dataset', 'master_id']);
  });

  await knex.schema.createTable('prepared_state', (t) => {
    t.string('dataset', 100).primary();
    /** Hash of the settings that decide the prepared rows: a change rebuilds them. */
    t.string('config_hash', 64).notNullable();
    t.integer('as_of_day').nullable();
    t.bigInteger('updated_at_ms').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'prepared_state',
    'prepared_records',
    'prepared_aggregates',
    'prepared_events',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
