import type { Knex } from 'knex';
import pg from 'pg';
import {
  mysqlKind,
  postgresKind,
  sqliteKind,
  type ColumnKind,
  type SqlClient,
  type SqlColumn,
} from './column-types';
import {
  UTC,
  formatWallDate,
  formatWallTime,
  formatWallTimeShort,
  type ZoneName,
} from './zoned-time';

/** How long opening a connection may take before the attempt counts as an upstream failure. */
export const CONNECT_TIMEOUT_MS = 20_000;

/** What differs between PostgreSQL, SQLite and MySQL; everything else is plain knex. */
export interface SqlDialect {
  readonly client: SqlClient;
  /** knex settings for a read-only session whose dates come back as text in UTC. */
  knexConfig(connection: string): Knex.Config;
  /** The table or view's columns in table order; empty when it does not exist. */
  describeColumns(db: Knex, table: string, schema: string | undefined): Promise<SqlColumn[]>;
  /** How a cursor column of this kind is ordered and bounded; null if it cannot be a cursor. */
  cursorKind(column: SqlColumn): ColumnKind | null;
  /** The expression that orders and bounds the cursor column (the column itself, mostly). */
  cursorExpr(db: Knex, column: string, kind: ColumnKind): Knex.Raw;
  /** Literal for a bound Braid computes (look-back start, safety-lag end), as the server prints. */
  timeLiteral(kind: ColumnKind, instantMs: number, zone: ZoneName): string;
  /** The database server's clock, epoch ms: the rows' timestamps come from it, not from ours. */
  nowMs(db: Knex): Promise<number>;
  /** Where the source lives, for messages: host, port and database; never credentials. */
  describeTarget(connection: string): string;
}

// PostgreSQL type OIDs (pg_type.dat) read as the server's text, so that no JS Date and no
// process time zone ever touches a date, and JSON, intervals and bytea stay as printed.
const PG_TEXT_OIDS = new Set([
  1082,
  1182, // date, date[]
  1114,
  1115, // timestamp, timestamp[]
  1184,
  1185, // timestamptz, timestamptz[]
  1186,
  1187, // interval, interval[]
  114,
  199,
  3802,
  3807, // json, json[], jsonb, jsonb[]
  17,
  1001, // bytea, bytea[]
  600,
  1017,
  718,
  719, // point, point[], circle, circle[]
]);

const asText = (value: string): string => value;
const PG_TYPES = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    PG_TEXT_OIDS.has(oid) ? asText : pg.types.getTypeParser(oid, format),
};

type AfterCreate = (conn: never, done: (err: Error | null, conn: unknown) => void) => void;

/** Runs one statement on a fresh driver connection before the pool hands it out. */
function sessionSetup(sql: string): AfterCreate {
  return (conn, done) => {
    const raw = conn as { query(sql: string, cb: (err: Error | null) => void): void };
    raw.query(sql, (err) => done(err, conn));
  };
}

const postgres: SqlDialect = {
  client: 'postgres',
  knexConfig: (connection) => ({
    client: 'pg',
    connection: {
      connectionString: connection,
      types: PG_TYPES,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      application_name: 'braid',
    } as Knex.PgConnectionConfig,
    // A UTC session prints timestamptz as `...+00`; read-only guards the customer's data.
    pool: {
      min: 0,
      max: 1,
      afterCreate: sessionSetup(
        "SET TIME ZONE 'UTC'; SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
      ),
    },
    acquireConnectionTimeout: CONNECT_TIMEOUT_MS,
  }),
  async describeColumns(db, table, schema) {
    const result = await db.raw(
      `select column_name, data_type, udt_name, is_nullable from information_schema.columns
       where table_schema = coalesce(?::text, current_schema()::text) and table_name = ?
       order by ordinal_position`,
      [schema ?? null, table],
    );
    return (result.rows as Record<string, string>[]).map((row) => ({
      name: row.column_name!,
      sourceType: row.udt_name!,
      nullable: row.is_nullable === 'YES',
      kind: postgresKind(row.data_type!),
    }));
  },
  cursorKind: typedCursorKind,
  cursorExpr: (db, column) => db.raw('??', [column]),
  timeLiteral(kind, instantMs, zone) {
    if (kind === 'date') return formatWallDate(instantMs, zone);
    if (kind === 'timestamptz') return `${formatWallTimeShort(instantMs, UTC)}+00`;
    return formatWallTimeShort(instantMs, zone);
  },
  async nowMs(db) {
    const result = await db.raw('select floor(extract(epoch from now()) * 1000)::bigint as ms');
    return Number((result.rows as Array<{ ms: string }>)[0]!.ms);
  },
  describeTarget: (connection) => urlTarget('postgres', connection),
};

/**
 * MySQL through knex's `mysql2` client. DATETIME, TIMESTAMP and DATE come back as text
 * (`dateStrings`), never as Dates built in the worker's zone (the knex#1461 trap); the session
 * zone is UTC so TIMESTAMP prints its UTC value; big integers and decimals stay exact text.
 */
const mysql: SqlDialect = {
  client: 'mysql',
  knexConfig: (connection) => ({
    client: 'mysql2',
    connection: {
      uri: connection,
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      jsonStrings: true,
      timezone: 'Z',
      connectTimeout: CONNECT_TIMEOUT_MS,
    } as unknown as Knex.MySql2ConnectionConfig,
    pool: { min: 0, max: 1, afterCreate: sessionSetup("SET time_zone = '+00:00'") },
    acquireConnectionTimeout: CONNECT_TIMEOUT_MS,
  }),
  async describeColumns(db, table, schema) {
    const result = await db.raw(
      `select COLUMN_NAME as name, DATA_TYPE as data_type, COLUMN_TYPE as column_type,
       IS_NULLABLE as is_nullable from information_schema.columns
       where table_schema = coalesce(?, database()) and table_name = ?
       order by ORDINAL_POSITION`,
      [schema ?? null, table],
    );
    return (result[0] as Record<string, string>[]).map((row) => ({
      name: row.name!,
      sourceType: row.column_type!,
      nullable: row.is_nullable === 'YES',
      kind: mysqlKind(row.data_type!, row.column_type!),
    }));
  },
  cursorKind: typedCursorKind,
  cursorExpr: (db, column) => db.raw('??', [column]),
  timeLiteral(kind, instantMs, zone) {
    if (kind === 'date') return formatWallDate(instantMs, zone);
    // The session zone is UTC, so a TIMESTAMP literal without an offset is read as UTC.
    return formatWallTimeShort(instantMs, kind === 'timestamptz' ? UTC : zone);
  },
  async nowMs(db) {
    const result = await db.raw('select cast(unix_timestamp(now(3)) * 1000 as signed) as ms');
    return Number((result[0] as Array<{ ms: string | number }>)[0]!.ms);
  },
  describeTarget: (connection) => urlTarget('mysql', connection),
};

/**
 * SQLite has no date type: dates are text. The cursor is ordered by `strftime`, which reads
 * `2026-03-29 01:30:00`, `2026-03-29T01:30:00.5` and `...Z` alike and prints one fixed-width
 * form, so text comparison orders instants even when writers mixed formats. Values carrying an
 * offset are converted to UTC by SQLite; zone-less ones are taken as written.
 */
const sqlite: SqlDialect = {
  client: 'sqlite',
  knexConfig: (filename) => ({
    client: 'better-sqlite3',
    connection: { filename, options: { readonly: true } },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      afterCreate: (conn: { pragma(sql: string): unknown }, done: (err?: Error) => void) => {
        // Wait out a writer's lock instead of failing the page at once.
        conn.pragma('busy_timeout = 10000');
        done();
      },
    },
  }),
  async describeColumns(db, table, schema) {
    const rows = (await db.raw(
      'select name, type, "notnull" as not_null from pragma_table_info(?, ?)',
      [table, schema ?? 'main'],
    )) as Array<{ name: string; type: string; not_null: number }>;
    return rows.map((row) => ({
      name: row.name,
      sourceType: row.type,
      nullable: row.not_null === 0,
      kind: sqliteKind(row.type),
    }));
  },
  // Text columns are the usual home of SQLite timestamps; `strftime` decides what parses.
  cursorKind: (column) =>
    column.kind === 'boolean' ? null : column.kind === 'string' ? 'timestamp' : column.kind,
  cursorExpr(db, column, kind) {
    if (kind === 'number') return db.raw('??', [column]);
    if (kind === 'date') return db.raw('date(??)', [column]);
    return db.raw(`strftime('%Y-%m-%d %H:%M:%f', ??)`, [column]);
  },
  timeLiteral(kind, instantMs, zone) {
    if (kind === 'date') return formatWallDate(instantMs, zone);
    return formatWallTime(instantMs, kind === 'timestamptz' ? UTC : zone);
  },
  async nowMs(db) {
    const rows = (await db.raw(
      "select cast(round((julianday('now') - 2440587.5) * 86400000) as integer) as ms",
    )) as Array<{ ms: number }>;
    return rows[0]!.ms;
  },
  describeTarget: (filename) => `sqlite ${filename}`,
};

/** Servers with real date types order text columns as text, so only typed columns qualify. */
function typedCursorKind(column: SqlColumn): ColumnKind | null {
  return column.kind === 'boolean' || column.kind === 'string' ? null : column.kind;
}

const DIALECTS: Record<SqlClient, SqlDialect> = { postgres, mysql, sqlite };

export function dialectFor(client: SqlClient): SqlDialect {
  return DIALECTS[client];
}

/** `postgres 10.0.0.5:5432/crm` from a connection URL, dropping user and password. */
function urlTarget(client: string, connection: string): string {
  try {
    const url = new URL(connection);
    return `${client} ${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return client;
  }
}
