import type { Knex } from 'knex';

/**
 * PostgreSQL: the identity engine's text columns that its indexes lead with compare bytes
 * (collation "C") rather than by the database's language rules. Nothing orders them for a
 * person to read: they are only matched for equality and walked in index order, which any
 * fixed order serves. Language-aware comparison cost every index insert and index build of a
 * rebuild a call into the C library per column compared (the key index of 1M records built in
 * 3.3 s against 2.9 s, the memberships went in 10% faster). Comparisons with other tables'
 * columns of the default collation take the column's, so no query changes, but an index on the
 * other column cannot serve them: migration 016 gives the other master id columns "C" too.
 * SQLite compares bytes already.
 */
const COLUMNS: Record<string, Array<[string, number]>> = {
  identity_keys: [
    ['dataset', 100],
    ['key_name', 200],
    ['value', 1000],
  ],
  identity_members: [['dataset', 100]],
  golden_records: [
    ['dataset', 100],
    ['status', 20],
    ['master_id', 64],
  ],
};

export async function up(knex: Knex): Promise<void> {
  await setCollation(knex, COLUMNS, '"C"');
}

export async function down(knex: Knex): Promise<void> {
  await setCollation(knex, COLUMNS, 'pg_catalog."default"');
}

/**
 * Sets the collation of these varchar columns (name and length, per table); PostgreSQL only.
 * PostgreSQL cannot change a column a view reads (a report the customer built on Braid's
 * tables, say), and its own error names neither the view nor the way out: such views are
 * looked up first and named, and nothing is changed.
 */
export async function setCollation(
  knex: Knex,
  tables: Record<string, Array<[string, number]>>,
  collation: string,
): Promise<void> {
  if (knex.client.config.client !== 'pg') return;
  for (const [table, columns] of Object.entries(tables)) {
    const names = columns.map(([name]) => name);
    const views = await viewsReading(knex, table, names);
    if (views.length > 0) {
      throw new Error(
        `cannot change the collation of ${table} (${names.join(', ')}): ` +
          `${views.join(', ')} ${views.length > 1 ? 'read' : 'reads'} it. Drop ` +
          `${views.length > 1 ? 'these views' : 'this view'}, start Braid again so that its ` +
          'migrations run, then create them again; nothing was changed.',
      );
    }
    const changes = columns.map(
      ([name, length]) => `ALTER COLUMN "${name}" TYPE varchar(${length}) COLLATE ${collation}`,
    );
    await knex.raw(`ALTER TABLE "${table}" ${changes.join(', ')}`);
  }
}

/** Views (or rules) that read any of these columns of the table, schema-qualified. */
async function viewsReading(knex: Knex, table: string, columns: string[]): Promise<string[]> {
  const result = await knex.raw(
    `SELECT DISTINCT n.nspname || '.' || v.relname AS name
     FROM pg_depend d
     JOIN pg_rewrite r ON r.oid = d.objid
     JOIN pg_class v ON v.oid = r.ev_class
     JOIN pg_namespace n ON n.oid = v.relnamespace
     JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
     WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
       AND d.refobjid = to_regclass(?) AND v.oid <> d.refobjid AND a.attname = ANY(?)
     ORDER BY 1`,
    [table, columns],
  );
  return (result.rows as Array<{ name: string }>).map((r) => r.name);
}
