import knexFactory, { type Knex } from 'knex';
import { ConfigError } from '../errors';
import type { ColumnKind, SqlColumn } from './column-types';
import { dialectFor, type SqlDialect } from './dialects';
import { classifySqlError } from './driver-errors';
import type { SqlTableOptions } from './options';

/** The columns a reader selects and the roles the config gives them. */
export interface TableLayout {
  /** Columns copied into record values, in table order unless the config lists them. */
  columns: SqlColumn[];
  key: SqlColumn;
  recordKey: SqlColumn;
  /** The cursor column and how it is ordered; absent only in full-refresh mode without one. */
  cursor?: { column: SqlColumn; kind: ColumnKind };
  updatedAt?: SqlColumn;
}

/**
 * One open connection to a source table: the knex instance, the table's layout, and error
 * handling that names the source without its credentials. Opened by the reader and by describe.
 */
export class TableSession {
  private constructor(
    readonly db: Knex,
    readonly dialect: SqlDialect,
    readonly where: string,
    readonly label: string,
    private readonly opts: SqlTableOptions,
    readonly layout: TableLayout,
    private readonly fail: (err: unknown) => Error,
  ) {}

  /** Connects, reads the table's columns and checks the configured ones exist. */
  static async open(opts: SqlTableOptions): Promise<TableSession> {
    const dialect = dialectFor(opts.client);
    const connection = opts.connection();
    const secrets = secretsOf(connection);
    const label = opts.schema ? `${opts.schema}.${opts.table}` : opts.table;
    const where = `SQL source "${opts.source}" (${dialect.describeTarget(connection)}, ${label})`;

    // compileSqlOnError off: knex would otherwise put the statement with its values inlined
    // into the driver's message, and messages end up in workflow history.
    const config = dialect.knexConfig(connection);
    const db = knexFactory({ ...config, compileSqlOnError: false, log: QUIET });
    const statements = { last: '' };
    db.on('query', (q: { sql: string; bindings?: unknown[] }) => {
      statements.last = q.sql;
      opts.onQuery?.(q.sql, q.bindings ?? []);
    });
    const fail = (err: unknown) =>
      classifySqlError(stripSql(err, statements.last), opts.client, where, secrets);
    try {
      const all = await dialect.describeColumns(db, opts.table, opts.schema).catch((err) => {
        throw fail(err);
      });
      const layout = resolveLayout(all, opts, dialect, where);
      return new TableSession(db, dialect, where, label, opts, layout, fail);
    } catch (err) {
      await db.destroy().catch(() => undefined);
      throw err;
    }
  }

  /** Runs a statement; a failure becomes a typed error naming the source. */
  async run<T>(statement: () => Promise<T>): Promise<T> {
    try {
      return await statement();
    } catch (err) {
      throw this.fail(err);
    }
  }

  /** `select ... from table`: the value columns plus the key, record key, cursor and update. */
  select(): Knex.QueryBuilder {
    const { db, layout } = this;
    const q = db.queryBuilder();
    if (this.schemaName) q.withSchema(this.schemaName);
    q.from(this.tableName).select(layout.columns.map((c) => c.name));
    q.select(db.raw('?? as ??', [layout.key.name, KEY]));
    q.select(db.raw('?? as ??', [layout.recordKey.name, RECORD_KEY]));
    if (layout.cursor) {
      q.select(db.raw('? as ??', [this.cursorExpr(), CURSOR]));
      q.select(db.raw('?? as ??', [layout.cursor.column.name, CURSOR_RAW]));
    }
    if (layout.updatedAt) q.select(db.raw('?? as ??', [layout.updatedAt.name, UPDATED_AT]));
    return q;
  }

  /** The cursor column as the dialect orders it. */
  cursorExpr(): Knex.Raw {
    const cursor = this.layout.cursor;
    if (!cursor) throw new ConfigError(`${this.where} has no cursor column`);
    return this.dialect.cursorExpr(this.db, cursor.column.name, cursor.kind);
  }

  /** Number of rows whose key column is empty; they cannot be paged and are skipped. */
  async countNullKeys(): Promise<number> {
    const q = this.db.queryBuilder();
    if (this.schemaName) q.withSchema(this.schemaName);
    const row = await this.run(() =>
      q.from(this.tableName).whereNull(this.layout.key.name).count({ n: '*' }).first(),
    );
    return Number((row as { n?: unknown } | undefined)?.n ?? 0);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  private get schemaName(): string | undefined {
    return this.opts.schema;
  }

  private get tableName(): string {
    return this.opts.table;
  }
}

// knex prints pool failures to the console; they reach us as rejected queries instead.
const ignore = (): undefined => undefined;
const QUIET = { warn: ignore, error: ignore, debug: ignore, deprecate: ignore };

/** Aliases of the columns every reader query selects besides the value columns. */
export const KEY = '__braid_key';
export const RECORD_KEY = '__braid_record_key';
export const CURSOR = '__braid_cursor';
export const CURSOR_RAW = '__braid_cursor_raw';
export const UPDATED_AT = '__braid_updated_at';

function resolveLayout(
  all: SqlColumn[],
  opts: SqlTableOptions,
  dialect: SqlDialect,
  where: string,
): TableLayout {
  if (all.length === 0) throw new ConfigError(`${where}: no such table or view`);
  const byName = new Map(all.map((c) => [c.name, c]));
  const find = (name: string, role: string): SqlColumn => {
    const column = byName.get(name);
    if (!column) throw new ConfigError(`${where}: ${role} "${name}" is not a column`);
    return column;
  };

  const columns = opts.columns ? opts.columns.map((n) => find(n, 'column')) : all;
  const layout: TableLayout = {
    columns,
    key: find(opts.keyColumn, 'keyColumn'),
    recordKey: find(opts.recordKey, 'recordKey'),
    updatedAt: opts.updatedAt === undefined ? undefined : find(opts.updatedAt, 'updatedAt'),
  };
  if (opts.cursorColumn !== undefined) {
    const column = find(opts.cursorColumn, 'cursorColumn');
    const kind = dialect.cursorKind(column);
    if (kind === null) {
      const hint = 'a cursor must be a date, date-time or number column';
      const found = `cursorColumn "${column.name}" is ${column.sourceType}`;
      throw new ConfigError(`${where}: ${found}; ${hint}`);
    }
    layout.cursor = { column, kind };
  } else if (opts.mode === 'incremental') {
    throw new ConfigError(`${where}: incremental mode needs a cursorColumn`);
  }
  return layout;
}

/** knex prefixes the driver's message with the statement; the source's name says enough. */
function stripSql(err: unknown, sql: string): unknown {
  if (sql === '' || !(err instanceof Error)) return err;
  const prefix = `${sql} - `;
  if (err.message.startsWith(prefix)) err.message = err.message.slice(prefix.length);
  return err;
}

/** The connection text and its URL password, masked wherever a driver message repeats them. */
function secretsOf(connection: string): string[] {
  const secrets = [connection];
  try {
    const password = decodeURIComponent(new URL(connection).password);
    if (password) secrets.push(password);
  } catch {
    // Not a URL (a SQLite file name or a key=value string): the whole text is masked.
  }
  return secrets;
}
