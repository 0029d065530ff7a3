import type { Knex } from 'knex';

/**
 * Purchases and custom events sent to Braze. Braze never dedupes events, so each sync keeps a
 * ledger of every event it sent (or that Braze refused as invalid), and planning leaves out
 * what the ledger holds. `event_targets` is planning's scratch table: each customer key of a
 * sync's golden records with the master and external id its events go to, rebuilt by every
 * plan, so that the join with millions of events is an indexed lookup per event.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('event_delivery', (t) => {
    t.string('sync_id', 100).notNullable();
    /** config/sync-events.ts exportKey: stable when exports are reordered. */
    t.string('export_key', 600).notNullable();
    t.string('dataset', 100).notNullable();
    /** prepared_events.record_id (the events' source record id). */
    t.integer('record_id').notNullable();
    t.string('master_id', 64).notNullable();
    /** `event` or `purchase`. */
    t.string('kind', 20).notNullable();
    /** `sent` (Braze accepted it) or `rejected` (Braze refused it as invalid). */
    t.string('status', 20).notNullable();
    t.text('reason').nullable();
    /** The event's content hash when sent: a rejected event whose data changed is planned again
     * (and, since migration 012, every rejected one once its export's settings change). */
    t.string('content_hash', 64).notNullable();
    t.bigInteger('sent_at_ms').notNullable();
    t.string('run_id', 200).notNullable().index('event_delivery_run');
    t.primary(['sync_id', 'export_key', 'dataset', 'record_id']);
  });

  await knex.schema.createTable('event_targets', (t) => {
    t.string('sync_id', 100).notNullable();
    t.string('customer_key', 500).notNullable();
    t.string('master_id', 64).notNullable();
    t.string('external_id', 500).notNullable();
    t.primary(['sync_id', 'customer_key']);
  });

  // Events batches deliver part of their items or none (a profile not in Braze yet).
  await knex.schema.alterTable('outbox', (t) => {
    t.integer('deferred_count').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbox', (t) => t.dropColumn('deferred_count'));
  await knex.schema.dropTableIfExists('event_targets');
  await knex.schema.dropTableIfExists('event_delivery');
}
