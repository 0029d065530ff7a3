import { setTimeout as delay } from 'node:timers/promises';
import { createClient } from 'node-zendesk';

import {
  AuthError,
  ConfigError,
  RateLimitError,
  UpstreamError,
  isRetryableStatus,
} from '../errors';
import { BASE_BACKOFF_MS, DEFAULT_MAX_RETRY_WAIT_MS, MAX_ATTEMPTS } from './limits';
import type { ZendeskConnection, ZendeskRuntime } from './types';

// The package's subpath types need moduleResolution node16; the client's own type carries it.
type Transporter = ReturnType<typeof createClient>['users']['transporter'];

/** What one attempt came back with: a status and body, or no status when the network failed. */
type Attempt = {
  status: number | undefined;
  body: unknown;
  retryAfter: string | null;
  cause?: unknown;
};

/** Connection plus the source's name, which every error message carries. */
export type ZendeskHttpOptions = ZendeskConnection & ZendeskRuntime & { source: string };

/**
 * GETs JSON from Zendesk through node-zendesk's transporter, one page at a time, waiting out
 * `Retry-After` on 429 and 5xx (up to a cap) and retrying only the request that failed.
 *
 * node-zendesk's own `getAll`/`requestAll` pages by itself and a 429 on any later page rejects
 * the whole list, so a retry restarts from page one (node-zendesk issue 232). Its `request()`
 * also turns any answer that has a `Retry-After` header into a "rate limit" error, a 503
 * included, and passes unknown 5xx through as data. So this class calls the lowest public layer,
 * `transporter.request`, which still builds the URL, the auth header and the user agent, and
 * returns the raw status, headers and parsed body for us to judge.
 */
export class ZendeskHttp {
  /** The API root, e.g. `https://acme.zendesk.com/api/v2`. */
  readonly apiBase: string;
  private readonly transporter: Transporter;
  private readonly opts: ZendeskHttpOptions;
  private readonly signal: AbortSignal;

  constructor(opts: ZendeskHttpOptions, signal: AbortSignal) {
    this.opts = opts;
    this.signal = signal;
    this.apiBase = `${opts.baseUrl.replace(/\/+$/, '')}/api/v2`;
    const auth =
      'oauthToken' in opts.auth
        ? { token: opts.auth.oauthToken, useOAuth: true }
        : { username: opts.auth.email, token: opts.auth.apiToken };
    const client = createClient({
      ...auth,
      endpointUri: this.apiBase,
      // The default transport (cross-fetch) gets no AbortSignal; this one passes ours so that a
      // cancelled activity stops mid-request. Only method and headers go on the wire.
      transportConfig: {
        transportFn: (uri: string, init: { method: string; headers: Record<string, string> }) =>
          fetch(uri, { method: init.method, headers: init.headers, signal: this.signal }),
        responseAdapter: (res: Response) => ({
          json: () => res.json(),
          status: res.status,
          headers: { get: (name: string) => res.headers.get(name) },
          statusText: res.statusText,
        }),
      },
    });
    this.transporter = client.users.transporter;
  }

  /**
   * The JSON body of a 2xx answer to `GET url` (a full URL under `apiBase`). Throws AuthError on
   * 401/403, ConfigError on 404, RateLimitError when still rate limited after the retries or
   * asked to wait longer than the cap, UpstreamError for other failures.
   */
  async getJson(url: string): Promise<unknown> {
    const maxAttempts = this.opts.maxAttempts ?? MAX_ATTEMPTS;
    const { pathname, search } = new URL(url);
    const path = `${pathname}${search}`;
    for (let attempt = 1; ; attempt += 1) {
      this.signal.throwIfAborted();
      const result = await this.attempt(url);
      if (result.status !== undefined && result.status >= 200 && result.status < 300) {
        return result.body;
      }
      if (!isRetryableStatus(result.status)) throw this.finalError(result, path);

      const waitMs = this.retryAfterMs(result.retryAfter) ?? BASE_BACKOFF_MS * 2 ** (attempt - 1);
      if (attempt >= maxAttempts) throw this.exhaustedError(result, path, attempt, waitMs);
      const maxWaitMs = this.opts.maxRetryWaitMs ?? DEFAULT_MAX_RETRY_WAIT_MS;
      if (waitMs > maxWaitMs) throw this.waitTooLongError(result, path, waitMs, maxWaitMs);

      // A 429 is Zendesk pacing us; a 5xx is Zendesk failing. They are logged apart so that
      // an outage is not mistaken for a quota problem.
      const event = result.status === 429 ? 'Rate limited' : 'Upstream request failed';
      this.opts.logger?.warn(event, {
        source: this.opts.source,
        status: result.status ?? null,
        path,
        attempt,
        retryAfterMs: waitMs,
      });
      await (this.opts.sleep ?? defaultSleep)(waitMs, this.signal);
    }
  }

  private async attempt(url: string): Promise<Attempt> {
    try {
      const { response, result } = await this.transporter.request('GET', url);
      const headers = (response as { headers: { get(name: string): string | null } }).headers;
      const status = (response as { status: number }).status;
      return { status, body: result, retryAfter: headers.get('retry-after') };
    } catch (err) {
      // An abort surfaces as a fetch error; the caller wants the cancellation, not a retry.
      this.signal.throwIfAborted();
      return { status: undefined, body: undefined, retryAfter: null, cause: err };
    }
  }

  /** `Retry-After` in ms: delta seconds or an HTTP date; undefined when absent or unreadable. */
  private retryAfterMs(header: string | null): number | undefined {
    if (header === null || header.trim() === '') return undefined;
    const text = header.trim();
    if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    return Math.max(0, at - (this.opts.now ?? Date.now)());
  }

  private where(): string {
    return `Zendesk source "${this.opts.source}"`;
  }

  private finalError(result: Attempt, path: string): Error {
    const detail = describeBody(result.status, result.body);
    if (result.status === 401) {
      const who = 'oauthToken' in this.opts.auth ? 'the OAuth token' : this.opts.auth.email;
      return new AuthError(`${this.where()} rejected the credentials of ${who} (${detail})`);
    }
    if (result.status === 403) {
      const text = `${this.where()} may not read ${path} (${detail}); exports need an admin`;
      return new AuthError(text);
    }
    if (result.status === 404) {
      const text = `${this.where()}: ${this.apiBase} has no ${path} (${detail}); check subdomain`;
      return new ConfigError(text);
    }
    return new UpstreamError(`${this.where()}: GET ${path} failed (${detail})`, result.status);
  }

  private exhaustedError(result: Attempt, path: string, attempts: number, waitMs: number): Error {
    const detail = describeBody(result.status, result.body);
    const text = `${this.where()}: GET ${path} failed ${attempts} times (last: ${detail})`;
    if (result.status === 429) return new RateLimitError(text, waitMs, result.cause);
    return new UpstreamError(text, result.status, result.cause);
  }

  private waitTooLongError(result: Attempt, path: string, waitMs: number, maxMs: number): Error {
    const detail = describeBody(result.status, result.body);
    const seconds = Math.ceil(waitMs / 1000);
    const text =
      `${this.where()}: GET ${path} answered ${detail} and asks to retry after ${seconds} s, ` +
      `more than the ${Math.ceil(maxMs / 1000)} s the reader waits itself`;
    if (result.status === 429) return new RateLimitError(text, waitMs, result.cause);
    return new UpstreamError(text, result.status, result.cause);
  }
}

/** Status plus Zendesk's own error text, cut short; Zendesk bodies never echo credentials. */
function describeBody(status: number | undefined, body: unknown): string {
  if (status === undefined) return 'no HTTP answer';
  const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const parts = [fields.error, fields.description, fields.error_description]
    .map((part) => (typeof part === 'object' && part !== null ? JSON.stringify(part) : part))
    .filter((part): part is string => typeof part === 'string' && part.length > 0);
  const text = parts.join(': ').slice(0, 200);
  return text ? `${status} ${text}` : String(status);
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal });
}
