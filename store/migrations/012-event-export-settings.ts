import type { Knex } from 'knex';

/**
 * The settings each event export was last planned with (a hash of what it sends: product,
 * currency, price, quantity, properties, name; not `since`, which only filters). An event the
 * ledger holds as rejected was refused under those settings; when they change, planning drops
 * the export's rejected rows so the events are judged again under the new ones. Without this,
 * an export fixed after a typo (`quantity: qtty`) never sent the events the typo had rejected.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('event_export_settings', (t) => {
    t.string('sync_id', 100).notNullable();
    /** config/sync-events.ts exportKey, as in event_delivery. */
    t.string('export_key', 600).notNullable();
    /** config/sync-events.ts exportSettingsHash. */
    t.string('settings_hash', 64).notNullable();
    t.bigInteger('updated_at_ms').notNullable();
    t.primary(['sync_id', 'export_key']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('event_export_settings');
}
