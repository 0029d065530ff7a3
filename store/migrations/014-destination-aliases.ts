import type { Knex } from 'knex';

/**
 * External ids a rename moved a profile away from. Braze keeps such an id as a deprecated id of
 * the renamed profile, and a `/users/track` naming it still updates that profile; so planning
 * must not send another golden record there, or two people's values would mix on one profile.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('destination_aliases', (t) => {
    t.string('sync_id', 100).notNullable();
    t.string('external_id', 500).notNullable();
    /** The master whose profile Braze resolves the id to. */
    t.string('master_id', 64).notNullable();
    t.bigInteger('renamed_at_ms').notNullable();
    t.primary(['sync_id', 'external_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('destination_aliases');
}
