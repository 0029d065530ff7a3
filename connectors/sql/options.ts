import type { SqlClient } from './column-types';
import type { ZoneName } from './zoned-time';

/** Everything a SQL table reader needs, with the config's defaults already applied. */
export interface SqlTableOptions {
  /** The source's name in the config; every message and reject origin names it. */
  source: string;
  client: SqlClient;
  /**
   * Called once, when connecting: a URL for PostgreSQL and MySQL, a file name for SQLite. Being
   * a function keeps a resolved secret out of the options until it is needed.
   */
  connection: () => string;
  /** Table or view name; `schema` qualifies it (PostgreSQL schema, MySQL database). */
  table: string;
  schema?: string;
  /** Columns copied into each record's values; all of the table's when absent. */
  columns?: readonly string[];
  /** Orders and bounds incremental reads; required in incremental mode. */
  cursorColumn?: string;
  /** Unique, non-null column that breaks ties between rows sharing a cursor value. */
  keyColumn: string;
  /** Column whose text is the record's key in Braid. */
  recordKey: string;
  /** Column giving the record's own update instant (`updatedAtMs`); none when absent. */
  updatedAt?: string;
  mode: 'incremental' | 'full_refresh';
  /** How far behind the saved cursor a new incremental run starts, for late commits. */
  lookBackSeconds: number;
  /** When set, a run reads no row whose cursor is newer than the server's now minus this. */
  safetyLagSeconds?: number;
  /** Zone of date-time values stored without one: 'UTC' or an IANA name. */
  zone: ZoneName;
  /** Rows per page and per query. */
  pageSize: number;
  /** Sees every statement and its bindings (cursor values and keys), for debug logging. */
  onQuery?: (sql: string, bindings: readonly unknown[]) => void;
}
