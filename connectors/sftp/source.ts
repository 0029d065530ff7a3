import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import SftpClient from 'ssh2-sftp-client';

import { AuthError, BadInputError, ConfigError, UpstreamError } from '../errors';
import { compareForImport, fileNameMatcher, type FileNameMatcher } from './file-names';

/** Where and how to log in. Give `password` or `privateKey` (PEM or OpenSSH text). */
export type SftpConnectionOptions = {
  host: string;
  port: number;
  username: string;
  password?: string;
  privateKey?: string;
  /** How long the SSH handshake and login may take; 20 s by default. */
  readyTimeoutMs?: number;
};

/** Which files of the server make up the source. */
export type SftpSourceOptions = {
  /** Remote directory holding the drops, relative to the login directory or absolute. */
  directory: string;
} & (
  | {
      /** Whole-name pattern; temporary upload names (`*.part`, `.x`) never match. */
      pattern: RegExp;
    }
  | {
      /** Chooses names and reads their dates (see file-names.ts). */
      names: FileNameMatcher;
    }
);

/**
 * A file of the source as the server lists it. `modifiedAtMs` has whole-second precision;
 * `fileDate` is the date its name carries (ISO 8601), for sources named by a date pattern.
 */
export type RemoteFile = {
  name: string;
  path: string;
  sizeBytes: number;
  modifiedAtMs: number;
  fileDate?: string;
};

/** ssh2's own default, kept explicit so that the option documents it. */
export const DEFAULT_READY_TIMEOUT_MS = 20_000;

// SFTP status codes (draft-ietf-secsh-filexfer-02, section 7) as ssh2 reports them in `code`.
const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;

// The library's default callbacks print to the console; failures reach us through its promises.
const QUIET_CALLBACKS = { error: () => undefined, end: () => undefined, close: () => undefined };

/**
 * Reads the files of one SFTP drop directory. Opens one connection at a time; call `end()` when
 * done. Never retries or waits: each failure is thrown once as a typed error, retryable when the
 * network or server failed (UpstreamError) and final for credentials and configuration.
 */
export class SftpSource {
  private readonly conn: SftpConnectionOptions;
  private readonly directory: string;
  private readonly names: FileNameMatcher;
  private client: SftpClient | undefined;

  constructor(conn: SftpConnectionOptions, opts: SftpSourceOptions) {
    if (conn.password === undefined && conn.privateKey === undefined) {
      throw new ConfigError(`SFTP source ${describe(conn)} needs a password or a private key`);
    }
    this.conn = conn;
    this.directory = opts.directory;
    this.names = 'names' in opts ? opts.names : fileNameMatcher({ pattern: opts.pattern });
  }

  /** Connects and logs in. Throws AuthError, ConfigError or a retryable UpstreamError. */
  async connect(): Promise<void> {
    if (this.client !== undefined) return;
    const client = new SftpClient('braid-sftp-source', QUIET_CALLBACKS);

    // The library rewraps connection errors into plain messages; the raw ssh2 error keeps the
    // `level` that tells a rejected login from a network failure.
    let raw: unknown;
    const capture = (err: unknown): void => {
      raw ??= err;
    };
    client.on('error', capture);
    try {
      await client.connect({
        host: this.conn.host,
        port: this.conn.port,
        username: this.conn.username,
        password: this.conn.password,
        privateKey: this.conn.privateKey,
        readyTimeout: this.conn.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      });
    } catch (err) {
      await client.end().catch(() => undefined);
      throw connectError(raw ?? err, this.conn);
    } finally {
      client.removeListener('error', capture);
    }
    this.client = client;
  }

  /**
   * Lists the regular files whose name matches, in import order: by the date in the name, then by
   * name (code-unit order).
   */
  async listMatching(): Promise<RemoteFile[]> {
    const client = this.connected();
    let entries: SftpClient.FileInfo[];
    try {
      entries = await client.list(this.directory);
    } catch (err) {
      if (codeOf(err) === SFTP_NO_SUCH_FILE) {
        const where = `SFTP ${describe(this.conn)}`;
        throw new ConfigError(`${where} has no directory ${this.directory}`, err);
      }
      throw this.operationError(err, `list directory ${this.directory}`);
    }
    return entries
      .filter((entry) => entry.type === '-' && this.names.matches(entry.name))
      .map((entry) => {
        const file: RemoteFile = {
          name: entry.name,
          path: path.posix.join(this.directory, entry.name),
          sizeBytes: entry.size,
          modifiedAtMs: entry.modifyTime,
        };
        const fileDate = this.names.dateOf(entry.name);
        if (fileDate !== undefined) file.fileDate = fileDate;
        return file;
      })
      .sort(compareForImport);
  }

  /**
   * Streams one listed file by name. The name must match the pattern, which keeps callers inside
   * the source directory. Stream errors arrive as typed errors on the returned stream.
   */
  openReadStream(name: string): Readable {
    const client = this.connected();
    if (name.includes('/') || !this.names.matches(name)) {
      throw new BadInputError(`File "${name}" is not part of SFTP source ${describe(this.conn)}`);
    }

    let remote: Readable;
    try {
      remote = client.createReadStream(path.posix.join(this.directory, name));
    } catch (err) {
      throw this.operationError(err, `read file ${name}`);
    }

    // pipeline() would destroy `out` with the raw library error; rewrapping it here keeps library
    // messages and codes out of workflow history. Closing `out` early releases the remote handle.
    const out = new PassThrough();
    remote.on('error', (err) => out.destroy(this.operationError(err, `read file ${name}`)));
    out.on('close', () => remote.destroy());
    return remote.pipe(out);
  }

  /**
   * Moves a file of the source into `targetDirectory` (created when missing) and returns the path
   * it now has. SFTP RENAME never replaces a file, so when the name is taken there, the file's
   * modification time (`YYYYMMDDTHHMMSSZ`) is added before its extension.
   */
  async moveTo(file: RemoteFile, targetDirectory: string): Promise<string> {
    const client = this.connected();
    if (file.name.includes('/') || !this.names.matches(file.name)) {
      throw new BadInputError(
        `File "${file.name}" is not part of SFTP source ${describe(this.conn)}`,
      );
    }
    try {
      if ((await client.exists(targetDirectory)) === false)
        await client.mkdir(targetDirectory, true);
      let target = path.posix.join(targetDirectory, file.name);
      if ((await client.exists(target)) !== false) {
        target = path.posix.join(targetDirectory, versionedName(file));
      }
      await client.rename(path.posix.join(this.directory, file.name), target);
      return target;
    } catch (err) {
      throw this.operationError(err, `move file ${file.name} to ${targetDirectory}`);
    }
  }

  /** Closes the connection; safe to call more than once or before connect. */
  async end(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) await client.end();
  }

  private connected(): SftpClient {
    if (this.client === undefined) {
      throw new ConfigError(`SFTP source ${describe(this.conn)} is used before connect()`);
    }
    return this.client;
  }

  private operationError(err: unknown, action: string): Error {
    const where = `SFTP ${describe(this.conn)}`;
    switch (codeOf(err)) {
      case SFTP_PERMISSION_DENIED:
        return new AuthError(`${where} does not let user ${this.conn.username} ${action}`, err);
      case SFTP_NO_SUCH_FILE:
        // A file listed a moment ago can vanish when the sender replaces it; the retry relists.
        return new UpstreamError(`${where} could not ${action}: it is gone`, undefined, err);
      default:
        return new UpstreamError(`${where} failed to ${action}`, undefined, err);
    }
  }
}

function versionedName(file: RemoteFile): string {
  const stamp = new Date(file.modifiedAtMs).toISOString().replace(/[-:]|\.\d+/g, '');
  const dot = file.name.lastIndexOf('.');
  return dot > 0
    ? `${file.name.slice(0, dot)}-${stamp}${file.name.slice(dot)}`
    : `${file.name}-${stamp}`;
}

function describe(conn: SftpConnectionOptions): string {
  return `${conn.host}:${conn.port}`;
}

function codeOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

/** Sorts a failed login into credential, configuration and network failures. */
function connectError(err: unknown, conn: SftpConnectionOptions): Error {
  type Fields = Partial<Record<'level' | 'code' | 'message', unknown>>;
  const { level, code, message } = (err ?? {}) as Fields;
  const where = `SFTP ${describe(conn)}`;
  if (level === 'client-authentication') {
    return new AuthError(`${where} rejected the credentials of user ${conn.username}`, err);
  }
  if (typeof message === 'string' && /privateKey|private key/i.test(message)) {
    return new ConfigError(`${where}: the private key for user ${conn.username} is unusable`, err);
  }
  if (code === 'ENOTFOUND') {
    return new ConfigError(`${where}: host name does not resolve`, err);
  }
  if (level === 'client-timeout' || code === 'ETIMEDOUT') {
    return new UpstreamError(`${where} did not complete the SSH handshake in time`, undefined, err);
  }
  const reason = typeof code === 'string' ? ` (${code})` : '';
  return new UpstreamError(`${where} could not be reached${reason}`, undefined, err);
}
