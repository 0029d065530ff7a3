import type { Knex } from 'knex';
import { setCollation } from './015-identity-collation';

/**
 * PostgreSQL: every master id column compares bytes, like `golden_records.master_id` since
 * migration 015. A join between two columns of different collations compares by the non-default
 * one, so an index built under the other cannot serve it: finding the departed records of a
 * sync read every row of the sync's `destination_state` (10 ms at 100k rows) instead of probing
 * its key once per departed record (0.6 ms). One collation for the id wherever it is stored keeps
 * every such join on its index. Master ids are generated ASCII, so no order a reader sees changes.
 */
const COLUMNS: Record<string, Array<[string, number]>> = {
  golden_records: [['merged_into', 64]],
  identity_events: [
    ['master_id', 64],
    ['other_master_id', 64],
  ],
  destination_state: [['master_id', 64]],
  destination_aliases: [['master_id', 64]],
  prepared_records: [['master_id', 64]],
  prepared_master_aggregates: [['master_id', 64]],
  link_keys: [['master_id', 64]],
  event_delivery: [['master_id', 64]],
  event_targets: [['master_id', 64]],
};

export async function up(knex: Knex): Promise<void> {
  await setCollation(knex, COLUMNS, '"C"');
}

export async function down(knex: Knex): Promise<void> {
  await setCollation(knex, COLUMNS, 'pg_catalog."default"');
}
