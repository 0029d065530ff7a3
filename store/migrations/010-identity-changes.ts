import type { Knex } from 'knex';

/**
 * A change sequence on source records, so an incremental unify reads only the records that
 * changed since the previous one, whatever the staging clock says (008's staged-at margin made
 * it read every record staged in the last 15 minutes: all of them after a bulk load).
 *
 * Triggers keep `change_seq` current for every writer (staging, webhook upserts, deletion
 * marks), not only those that know about it:
 * - SQLite has one writer at a time, so `max + 1` taken in the writing transaction grows in
 *   commit order; a unify remembers the largest value it saw.
 * - PostgreSQL writers commit in any order, so the value is the writer's transaction id; a
 *   unify remembers the oldest transaction still running when it started (its snapshot's
 *   xmin), below which every change is committed and visible.
 * Rows staged before this migration have no value; the first unify after it still finds their
 * changes through the staging-time margin, then records where the sequence stands.
 */
const WATCHED = ['payload', 'content_hash', 'deleted_at_ms', 'source', 'record_key'];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('source_records', (t) => {
    t.bigInteger('change_seq').nullable();
    t.index(['change_seq'], 'source_records_change_seq');
  });
  await knex.schema.alterTable('identity_state', (t) => {
    /** Changes with a sequence at or above this are not unified yet; null: not known yet. */
    t.bigInteger('change_seq_from').nullable();
  });

  if (knex.client.config.client === 'pg') {
    await knex.raw(`
      CREATE OR REPLACE FUNCTION braid_source_change_seq() RETURNS trigger AS $$
      BEGIN
        NEW.change_seq := pg_current_xact_id()::text::bigint;
        RETURN NEW;
      END
      $$ LANGUAGE plpgsql`);
    await knex.raw(`
      CREATE TRIGGER source_records_change_seq
      BEFORE INSERT OR UPDATE OF ${WATCHED.join(', ')} ON source_records
      FOR EACH ROW EXECUTE FUNCTION braid_source_change_seq()`);
    return;
  }
  // SQLite cannot assign NEW in a trigger: the row is updated right after (a writer that sets
  // the value itself skips that). The update touches only change_seq, which the UPDATE trigger
  // does not watch, so it does not fire again.
  const next =
    'UPDATE source_records SET change_seq = (SELECT coalesce(max(change_seq), 0) + 1 FROM source_records) WHERE id = NEW.id';
  await knex.raw(
    `CREATE TRIGGER source_records_change_seq_insert AFTER INSERT ON source_records ` +
      `WHEN NEW.change_seq IS NULL BEGIN ${next}; END`,
  );
  await knex.raw(
    `CREATE TRIGGER source_records_change_seq_update AFTER UPDATE OF ${WATCHED.join(', ')} ON source_records ` +
      `WHEN NEW.change_seq IS OLD.change_seq BEGIN ${next}; END`,
  );
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.config.client === 'pg') {
    await knex.raw('DROP TRIGGER IF EXISTS source_records_change_seq ON source_records');
    await knex.raw('DROP FUNCTION IF EXISTS braid_source_change_seq()');
  } else {
    await knex.raw('DROP TRIGGER IF EXISTS source_records_change_seq_insert');
    await knex.raw('DROP TRIGGER IF EXISTS source_records_change_seq_update');
  }
  await knex.schema.alterTable('identity_state', (t) => t.dropColumn('change_seq_from'));
  await knex.schema.alterTable('source_records', (t) => {
    t.dropIndex(['change_seq'], 'source_records_change_seq');
    t.dropColumn('change_seq');
  });
}
