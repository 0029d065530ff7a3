import type { Knex } from 'knex';

/**
 * SFTP file lifecycle: when the current size and mtime were first listed (the stability window
 * counts from there), the date a dated file name carries, where the file was archived, and the
 * number fields kept as text because their values use decimal commas with no locale declared.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('source_files', (t) => {
    t.bigInteger('seen_since_ms').nullable();
    t.string('file_date', 40).nullable();
    t.string('archived_to', 1000).nullable();
    t.bigInteger('archived_at_ms').nullable();
    t.text('type_review').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('source_files', (t) => {
    t.dropColumn('seen_since_ms');
    t.dropColumn('file_date');
    t.dropColumn('archived_to');
    t.dropColumn('archived_at_ms');
    t.dropColumn('type_review');
  });
}
