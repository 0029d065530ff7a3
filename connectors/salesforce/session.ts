import { Connection, type HttpRequest, type HttpResponse } from 'jsforce';
import { HttpApi } from 'jsforce/lib/http-api';
import { AuthError, ConfigError, RateLimitError, UpstreamError, type SyncError } from '../errors';
import { CONCURRENT_REQUESTS_RETRY_AFTER_MS, TOTAL_REQUESTS_RETRY_AFTER_MS } from './limits';

/** Either a user login (SOAP, as jsforce's `loginBySoap`) or an OAuth access token. */
export type SalesforceCredentials =
  | { kind: 'password'; username: string; password: string; securityToken?: string }
  | { kind: 'accessToken'; accessToken: string };

/** Where and how to connect. Credentials are read through a function at connect time only. */
export interface SalesforceConnectionOptions {
  /** The Braid source name; every error message names it. */
  source: string;
  /** Login server for username/password (`https://login.salesforce.com`, `https://test...`). */
  loginUrl?: string;
  /** The org's instance URL; required with an access token. */
  instanceUrl?: string;
  /** REST API version without the `v`, e.g. `59.0`. */
  apiVersion: string;
  credentials: () => SalesforceCredentials;
}

/** A decoded answer with its status and lower-cased headers. */
export interface ApiResponse<T> {
  body: T;
  status: number;
  headers: Record<string, string>;
}

const QUERY_ERROR_CODES = new Set([
  'MALFORMED_QUERY',
  'INVALID_FIELD',
  'INVALID_TYPE',
  'INVALID_QUERY_FILTER_OPERATOR',
]);
const LOGIN_REJECTED_CODES = [
  'INVALID_LOGIN',
  'LOGIN_MUST_USE_SECURITY_TOKEN',
  'PASSWORD_LOCKOUT',
  'INVALID_OPERATION_WITH_EXPIRED_PASSWORD',
];
const LOGIN_REJECTED = new RegExp(
  `^(${LOGIN_REJECTED_CODES.join('|')})\\b|password has expired`,
  'i',
);

/**
 * One authenticated jsforce connection. Every request goes through `send`, which turns
 * Salesforce failures into Braid's typed errors. An expired session is refreshed once by logging
 * in again; jsforce's own refresh loop and its internal retries are off, because the activity
 * retry policy is the one retry layer.
 */
export class SalesforceSession {
  private conn: Connection | undefined;
  private credentials: SalesforceCredentials | undefined;

  constructor(private readonly opts: SalesforceConnectionOptions) {}

  /** `/services/data/vXX.X`, the prefix of every REST path. */
  get dataPath(): string {
    return `/services/data/v${this.opts.apiVersion}`;
  }

  /** Logs in (or adopts the access token) unless already connected. */
  async connect(signal: AbortSignal): Promise<void> {
    if (this.conn) return;
    this.credentials ??= this.opts.credentials();
    const creds = this.credentials;
    if (creds.kind === 'accessToken') {
      if (!this.opts.instanceUrl) {
        throw new ConfigError(
          `Salesforce source "${this.opts.source}": an access token needs instanceUrl`,
        );
      }
      this.conn = new Connection({
        instanceUrl: this.opts.instanceUrl,
        accessToken: creds.accessToken,
        version: this.opts.apiVersion,
      });
      return;
    }
    await this.login(signal);
  }

  /** Sends one request; the path may be relative to the instance (`/services/...`). */
  async send<T>(request: HttpRequest, what: string, signal: AbortSignal, responseType?: string) {
    await this.connect(signal);
    try {
      return await this.sendOnce<T>(request, signal, responseType);
    } catch (error) {
      if (!isExpired(error)) throw this.toSyncError(error, what);
      if (this.credentials?.kind !== 'password') {
        throw new AuthError(
          `${this.label(what)}: the access token was rejected (INVALID_SESSION_ID)`,
        );
      }
    }
    await this.login(signal);
    try {
      return await this.sendOnce<T>(request, signal, responseType);
    } catch (error) {
      if (!isExpired(error)) throw this.toSyncError(error, what);
      throw new AuthError(
        `${this.label(what)}: the session was rejected again right after logging in ` +
          '(INVALID_SESSION_ID)',
      );
    }
  }

  private async sendOnce<T>(request: HttpRequest, signal: AbortSignal, responseType?: string) {
    const conn = this.conn!;
    const api = new HttpApi(conn, { responseType, retry: { maxRetries: 0 } });
    let response: HttpResponse | undefined;
    api.on('response', (r: HttpResponse) => {
      response = r;
    });
    const url = request.url.startsWith('/') ? conn.instanceUrl + request.url : request.url;
    try {
      const body = await abortable(
        api.request<T>({ ...request, url, headers: { ...request.headers } }),
        signal,
      );
      return {
        body,
        status: response?.statusCode ?? 0,
        headers: response?.headers ?? {},
      } as ApiResponse<T>;
    } catch (error) {
      if (signal.aborted) throw error;
      throw new RequestFailure(error, response?.statusCode);
    }
  }

  private async login(signal: AbortSignal): Promise<void> {
    const creds = this.credentials!;
    if (creds.kind !== 'password') return;
    const conn = new Connection({
      loginUrl: this.opts.loginUrl,
      instanceUrl: this.opts.instanceUrl,
      version: this.opts.apiVersion,
    });
    try {
      await abortable(
        conn.loginBySoap(creds.username, creds.password + (creds.securityToken ?? '')),
        signal,
      );
    } catch (error) {
      if (signal.aborted) throw error;
      throw this.loginError(error, creds.username);
    }
    this.conn = conn;
  }

  private loginError(error: unknown, username: string): SyncError {
    const text = this.scrub(firstLine(error));
    const where = `Salesforce source "${this.opts.source}": login as ${username}`;
    if (LOGIN_REJECTED.test(text)) return new AuthError(`${where} was rejected (${text})`, error);
    if (/REQUEST_LIMIT_EXCEEDED|LOGIN_RATE_EXCEEDED/.test(text)) {
      return new RateLimitError(
        `${where} was rate limited (${text})`,
        TOTAL_REQUESTS_RETRY_AFTER_MS,
        error,
      );
    }
    return new UpstreamError(`${where} failed (${text})`, undefined, error);
  }

  private toSyncError(error: unknown, what: string): SyncError {
    const failure = error instanceof RequestFailure ? error : new RequestFailure(error, undefined);
    const { status, errorCode } = failure;
    const detail = `${errorCode ?? 'no error code'}: ${this.scrub(firstLine(failure.cause))}`;
    const where = this.label(what);
    if (errorCode === 'REQUEST_LIMIT_EXCEEDED') {
      const waitMs = /concurrent/i.test(detail)
        ? CONCURRENT_REQUESTS_RETRY_AFTER_MS
        : TOTAL_REQUESTS_RETRY_AFTER_MS;
      return new RateLimitError(`${where}: rate limited (${detail})`, waitMs, failure.cause);
    }
    if (status === 401 || status === 403) {
      return new AuthError(`${where}: access refused, HTTP ${status} (${detail})`, failure.cause);
    }
    if (errorCode && QUERY_ERROR_CODES.has(errorCode)) {
      return new ConfigError(`${where}: query rejected (${detail})`, failure.cause);
    }
    const statusText = status === undefined ? 'network error' : `HTTP ${status}`;
    return new UpstreamError(`${where} failed, ${statusText} (${detail})`, status, failure.cause);
  }

  /** `Salesforce source "<name>": <what>`, the start of every message about this source. */
  label(what: string): string {
    return `Salesforce source "${this.opts.source}": ${what}`;
  }

  /** Removes every credential and the session id from text bound for messages. */
  private scrub(text: string): string {
    const c = this.credentials;
    const secrets = [this.conn?.accessToken ?? undefined];
    if (c?.kind === 'password')
      secrets.push(c.password, c.securityToken, c.password + (c.securityToken ?? ''));
    if (c?.kind === 'accessToken') secrets.push(c.accessToken);
    let out = text;
    for (const secret of secrets)
      if (secret && secret.length >= 4) out = out.split(secret).join('***');
    return out.length > 300 ? `${out.slice(0, 300)}...` : out;
  }
}

/** A failed request with the HTTP status jsforce's error leaves out. */
class RequestFailure extends Error {
  readonly errorCode: string | undefined;

  constructor(
    override readonly cause: unknown,
    readonly status: number | undefined,
  ) {
    super(firstLine(cause));
    const code = (cause as { errorCode?: unknown } | null)?.errorCode;
    this.errorCode = typeof code === 'string' ? code : undefined;
  }
}

function isExpired(error: unknown): boolean {
  return (
    error instanceof RequestFailure &&
    (error.status === 401 || error.errorCode === 'INVALID_SESSION_ID')
  );
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (
    message
      .trim()
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join(' ') || 'no message'
  );
}

/** Settles with the promise, or rejects as soon as the signal aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
