import { AuthError, BadInputError, ConfigError, UpstreamError, type SyncError } from '../errors';
import type { SqlClient } from './column-types';

type Fields = Partial<Record<'code' | 'errno' | 'message' | 'name', unknown>>;

// Node socket failures: the server is down or unreachable, which a later attempt may not be.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
]);

// MySQL server error numbers (dev.mysql.com/doc/mysql-errors/8.0/en/server-error-reference.html).
const MYSQL_ACCESS_DENIED = new Set([1044, 1045, 1142, 1143, 1227, 1698]);
const MYSQL_MISSING = new Set([1049, 1054, 1146]);
const MYSQL_SYNTAX = 1064;

/**
 * Sorts a driver error into Braid's typed errors. `where` names the source (never with its
 * password); every text in `secrets` is masked wherever the driver's message repeats it.
 */
export function classifySqlError(
  err: unknown,
  client: SqlClient,
  where: string,
  secrets: readonly string[] = [],
): SyncError {
  const { code, errno, message, name } = (err ?? {}) as Fields;
  const reason = redact(typeof message === 'string' ? message : String(err), secrets);
  const detail = `${where}: ${reason}`;

  if (name === 'KnexTimeoutError') {
    return new UpstreamError(`${where}: no connection within the time limit`, undefined, err);
  }
  if (code === 'ENOTFOUND') return new ConfigError(`${where}: host name does not resolve`, err);
  if (typeof code === 'string' && NETWORK_CODES.has(code)) {
    return new UpstreamError(`${where} could not be reached (${code})`, undefined, err);
  }
  if (client === 'postgres' && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    return postgresError(code, detail, err);
  }
  if (client === 'mysql' && typeof errno === 'number') return mysqlError(errno, detail, err);
  if (client === 'sqlite' && typeof code === 'string') return sqliteError(code, detail, err);
  return new UpstreamError(detail, undefined, err);
}

/** SQLSTATE classes, postgresql.org/docs/current/errcodes-appendix.html. */
function postgresError(code: string, detail: string, err: unknown): SyncError {
  if (code === '28P01' || code === '28000' || code === '42501') return new AuthError(detail, err);
  if (code === '3D000' || code === '3F000') return new ConfigError(detail, err);
  if (code.startsWith('22')) return new BadInputError(detail, err);
  if (code.startsWith('42')) return new ConfigError(detail, err);
  return new UpstreamError(detail, undefined, err);
}

function mysqlError(errno: number, detail: string, err: unknown): SyncError {
  if (MYSQL_ACCESS_DENIED.has(errno)) return new AuthError(detail, err);
  if (MYSQL_MISSING.has(errno) || errno === MYSQL_SYNTAX) return new ConfigError(detail, err);
  return new UpstreamError(detail, undefined, err);
}

/** better-sqlite3 codes, sqlite.org/rescode.html. */
function sqliteError(code: string, detail: string, err: unknown): SyncError {
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED') {
    return new UpstreamError(detail, undefined, err);
  }
  if (code === 'SQLITE_AUTH' || code === 'SQLITE_PERM') return new AuthError(detail, err);
  if (code.startsWith('SQLITE_IOERR')) return new UpstreamError(detail, undefined, err);
  return new ConfigError(detail, err);
}

/** Masks secrets and the user-info part of connection URLs in a driver message. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text.replace(/(\/\/)[^/@\s]*@/g, '$1***@');
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join('***');
  }
  return out;
}
