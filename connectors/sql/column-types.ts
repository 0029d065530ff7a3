/**
 * How SQL column types map to what Braid does with their values. The mapping is deliberately
 * small: Braid only needs to know which columns hold instants, dates, numbers or booleans;
 * everything else (text, uuid, json, time of day, intervals, binary) is read as text.
 */

export type SqlClient = 'postgres' | 'sqlite' | 'mysql';

/**
 * - `timestamp`: date and time without a zone (PG `timestamp`, MySQL DATETIME, SQLite text);
 *   read as wall time in the source's declared zone.
 * - `timestamptz`: an exact instant (PG `timestamptz`, MySQL TIMESTAMP read in a UTC session).
 */
export type ColumnKind = 'timestamp' | 'timestamptz' | 'date' | 'number' | 'boolean' | 'string';

/** A column as the database describes it. */
export interface SqlColumn {
  name: string;
  /** The database's own type name, as `braid source describe` shows it. */
  sourceType: string;
  nullable: boolean;
  kind: ColumnKind;
}

/** The Braid field type shown for each kind. */
export const BRAID_TYPE: Record<ColumnKind, string> = {
  timestamp: 'datetime',
  timestamptz: 'datetime',
  date: 'date',
  number: 'number',
  boolean: 'boolean',
  string: 'string',
};

export function isTimeKind(kind: ColumnKind): kind is 'timestamp' | 'timestamptz' | 'date' {
  return kind === 'timestamp' || kind === 'timestamptz' || kind === 'date';
}

const PG_NUMBER = new Set([
  'smallint',
  'integer',
  'bigint',
  'numeric',
  'real',
  'double precision',
  'decimal',
]);

/** PostgreSQL `information_schema.columns.data_type`. Domains and enums are read as text. */
export function postgresKind(dataType: string): ColumnKind {
  const type = dataType.toLowerCase();
  if (type === 'timestamp without time zone') return 'timestamp';
  if (type === 'timestamp with time zone') return 'timestamptz';
  if (type === 'date') return 'date';
  if (type === 'boolean') return 'boolean';
  if (PG_NUMBER.has(type)) return 'number';
  return 'string';
}

const MYSQL_NUMBER = new Set([
  'tinyint',
  'smallint',
  'mediumint',
  'int',
  'integer',
  'bigint',
  'decimal',
  'numeric',
  'float',
  'double',
  'real',
  'year',
]);

/**
 * MySQL `DATA_TYPE` plus `COLUMN_TYPE`: TINYINT(1) is MySQL's BOOLEAN. TIMESTAMP columns are
 * stored as UTC and printed in the session zone, which the reader sets to UTC, so they are
 * instants; DATETIME carries no zone.
 */
export function mysqlKind(dataType: string, columnType: string): ColumnKind {
  const type = dataType.toLowerCase();
  if (type === 'tinyint' && /^tinyint\(1\)/i.test(columnType)) return 'boolean';
  if (type === 'datetime') return 'timestamp';
  if (type === 'timestamp') return 'timestamptz';
  if (type === 'date') return 'date';
  if (MYSQL_NUMBER.has(type)) return 'number';
  return 'string';
}

/**
 * SQLite declared type, following its affinity rules (sqlite.org/datatype3.html, 3.1) for
 * numbers; DATETIME, TIMESTAMP, DATE and BOOL are conventions SQLite itself does not enforce.
 */
export function sqliteKind(declared: string): ColumnKind {
  const type = declared.toUpperCase();
  if (type.includes('DATETIME') || type.includes('TIMESTAMP')) return 'timestamp';
  if (type.includes('DATE')) return 'date';
  if (type.includes('BOOL')) return 'boolean';
  if (type.includes('INT')) return 'number';
  if (/REAL|FLOA|DOUB|NUMERIC|DECIMAL/.test(type)) return 'number';
  return 'string';
}
