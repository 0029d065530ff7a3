import path from 'node:path';
import { z } from 'zod';
import type { SqlTableOptions } from '../../connectors/sql/options';
import { resolveSecret, SecretRef } from '../secret-ref';

/** Largest page a SQL source may ask for: one page is held in memory and staged at once. */
export const MAX_SQL_PAGE_SIZE = 10_000;

const LOCAL_ZONE = /^local:(.+)$/;

/**
 * A table or view read over SQL (`type: sql`). The connection is a URL for PostgreSQL and
 * MySQL or a file name for SQLite; either can be a secret reference, resolved only when the
 * reader connects. `recordKey` defaults to `keyColumn` and `updatedAt` to `cursorColumn`.
 */
export const SqlSourceConfig = z
  .object({
    type: z.literal('sql'),
    client: z.enum(['postgres', 'sqlite', 'mysql']),
    // Lazy: config/schema.ts may import this module for its source union, and SecretRef must
    // not be read before that module has finished loading.
    connection: z.lazy(() => z.union([z.string().min(1), SecretRef])),
    /** PostgreSQL schema, MySQL database or SQLite attached database; the default otherwise. */
    schema: z.string().min(1).optional(),
    table: z.string().min(1).optional(),
    view: z.string().min(1).optional(),
    /** Columns copied into each record; all of the table's when absent. */
    columns: z.array(z.string().min(1)).min(1).optional(),
    /** A date, date-time or number column that grows when a row changes. */
    cursorColumn: z.string().min(1).optional(),
    /** A unique, non-null column: the tie-breaker between rows sharing a cursor value. */
    keyColumn: z.string().min(1),
    mode: z.enum(['incremental', 'full_refresh']).default('incremental'),
    /** How far behind the saved cursor each incremental run starts, to catch late commits. */
    lookBackSeconds: z.number().int().min(0).default(300),
    /** Optional: a run reads no row newer than the server's now() minus this. */
    safetyLagSeconds: z.number().int().positive().optional(),
    /** How date-times without a zone are read: `utc` or `local:<IANA zone>`. */
    timestamps: z
      .string()
      .default('utc')
      .refine(isTimestampsSetting, "use 'utc' or 'local:<IANA zone>', e.g. local:Europe/Paris"),
    pageSize: z.number().int().min(1).max(MAX_SQL_PAGE_SIZE).default(1000),
    recordKey: z.string().min(1).optional(),
    updatedAt: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((source, ctx) => {
    if ((source.table === undefined) === (source.view === undefined)) {
      const message = 'give exactly one of table or view';
      ctx.addIssue({ code: 'custom', path: ['table'], message });
    }
    if (source.mode === 'incremental' && source.cursorColumn === undefined) {
      const message = 'incremental mode needs it';
      ctx.addIssue({ code: 'custom', path: ['cursorColumn'], message });
    }
  });
export type SqlSourceConfig = z.infer<typeof SqlSourceConfig>;

/** The zone of a `timestamps` setting: 'UTC' for `utc`, else the IANA name after `local:`. */
export function timestampsZone(setting: string): string {
  if (setting === 'utc') return 'UTC';
  return LOCAL_ZONE.exec(setting)?.[1] ?? setting;
}

function isTimestampsSetting(value: string): boolean {
  if (value === 'utc') return true;
  const zone = LOCAL_ZONE.exec(value)?.[1];
  if (zone === undefined) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Reader options for a configured SQL source, with the config's defaults applied. The secret
 * behind `connection` is resolved only when the reader connects. A relative SQLite file name
 * is taken from `configDir`, the folder of the config file, like the store's own database.
 */
export function sqlTableOptions(
  source: string,
  config: SqlSourceConfig,
  configDir: string,
): SqlTableOptions {
  const connection = (): string => {
    const text =
      typeof config.connection === 'string'
        ? config.connection
        : resolveSecret(config.connection, `sources.${source}.connection`);
    return config.client === 'sqlite' ? path.resolve(configDir, text) : text;
  };
  return {
    source,
    client: config.client,
    connection,
    table: (config.table ?? config.view)!,
    schema: config.schema,
    columns: config.columns,
    cursorColumn: config.cursorColumn,
    keyColumn: config.keyColumn,
    recordKey: config.recordKey ?? config.keyColumn,
    updatedAt: config.updatedAt ?? config.cursorColumn,
    mode: config.mode,
    lookBackSeconds: config.lookBackSeconds,
    safetyLagSeconds: config.safetyLagSeconds,
    zone: timestampsZone(config.timestamps),
    pageSize: config.pageSize,
  };
}
