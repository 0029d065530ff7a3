import type { DiscoveredField } from '../source-reader';
import { BRAID_TYPE } from './column-types';
import type { SqlTableOptions } from './options';
import { TableSession } from './table-session';

/**
 * The fields a SQL source offers, for `braid source describe`: the configured columns (all of
 * the table's by default) in table order, each with its SQL type, nullability and Braid type.
 * Date-time columns (with or without a zone) are `datetime`, DATE is `date`, integer, decimal and
 * float types are `number`, PostgreSQL `boolean`, MySQL TINYINT(1) and SQLite BOOL are `boolean`,
 * and everything else is `string`; emails and phones are the reviewer's call, not guessed from
 * names. Connects like a read does, so it fails the same way on a wrong table or credential.
 */
export async function describeSqlTable(opts: SqlTableOptions): Promise<DiscoveredField[]> {
  const session = await TableSession.open(opts);
  try {
    return session.layout.columns.map((column) => ({
      name: column.name,
      type: BRAID_TYPE[column.kind],
      sourceType: column.sourceType,
      nullable: column.nullable,
    }));
  } finally {
    await session.close();
  }
}
