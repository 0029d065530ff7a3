import { AuthError, BadInputError, ConfigError, RateLimitError, UpstreamError } from '../errors';
import {
  DEFAULT_RATE_LIMIT_WINDOW_MS,
  MAX_ATTRIBUTES_PER_REQUEST,
  MAX_PAYLOAD_BYTES,
} from './limits';
import { mapItemErrors, readAttributesProcessed } from './mapping';
import type { AttributeObject, RateLimitInfo, TrackResult } from './types';

/** Default time allowed for one request, response body included. */
const DEFAULT_TIMEOUT_MS = 30_000;

/** Shortest wait reported on a 429, so a reset time already in the past never means "now". */
const MIN_RETRY_AFTER_MS = 1000;

/** Options for `BrazeClient`. `now` exists for tests of the rate-limit arithmetic. */
export type BrazeClientOptions = {
  /** REST endpoint of the Braze instance, e.g. `https://rest.iad-01.braze.com`. */
  endpoint: string;
  /** REST API key with the `users.track` permission. Never logged or put in an error. */
  apiKey: string;
  /** Time allowed for one request including its response body; default 30 s. */
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
  /** Clock in epoch milliseconds; default `Date.now`. */
  now?: () => number;
};

/**
 * Minimal Braze `/users/track` client for attribute updates.
 *
 * One call is one HTTP request: the client never retries, sleeps or splits a batch, because the
 * activity retry policy is the single retry layer and pacing belongs to the workflow. Failures
 * come back as typed errors from `connectors/errors.ts` whose messages carry the endpoint path
 * and status only, never the key, headers or bodies.
 */
export class BrazeClient {
  private readonly trackUrl: string;
  private readonly apiKey: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;

  /** @throws ConfigError when the endpoint is not a plain http(s) URL or the key is empty. */
  constructor(opts: BrazeClientOptions) {
    this.trackUrl = `${checkEndpoint(opts.endpoint)}/users/track`;
    if (typeof opts.apiKey !== 'string' || opts.apiKey.trim() === '') {
      throw new ConfigError('Braze REST API key is empty');
    }
    this.apiKey = opts.apiKey;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0) {
      throw new ConfigError('Braze timeoutMs must be a positive number of milliseconds');
    }
    this.fetchImpl = opts.fetchImpl ?? fetch;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Sends up to 75 attribute objects in one `/users/track` request.
   *
   * Resolves on any 2xx, with Braze's per-object rejections in `itemErrors` (index into
   * `attributes`). Re-sending the same objects is safe for plain sets and unsets, but not for
   * `inc` or array `add`/`remove` operators, which Braze applies again.
   * @throws BadInputError before any request when the batch is empty, has more than 75 objects
   *   or its body is over 4 MB.
   * @throws AuthError on 401/403; RateLimitError on 429 (with `retryAfterMs`); UpstreamError
   *   with the status otherwise, or with no status when the network failed, the request timed
   *   out or `opts.signal` aborted it.
   */
  async trackAttributes(
    attributes: AttributeObject[],
    opts: { signal?: AbortSignal } = {},
  ): Promise<TrackResult> {
    const body = encodeBatch(attributes);
    const response = await this.post(body, opts.signal);
    const rateLimit = readRateLimit(response.headers);

    if (response.status >= 200 && response.status < 300) {
      const parsed = parseJson(response.text);
      const itemErrors = mapItemErrors(parsed, attributes.length);
      const attributesProcessed = readAttributesProcessed(
        parsed,
        attributes.length,
        itemErrors.length,
      );
      return { status: response.status, attributesProcessed, itemErrors, rateLimit };
    }
    throw this.statusError(response.status, response.headers, rateLimit);
  }

  private async post(
    body: string,
    callerSignal: AbortSignal | undefined,
  ): Promise<{ status: number; headers: Headers; text: string }> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = callerSignal ? AbortSignal.any([timeout, callerSignal]) : timeout;
    try {
      // Reading the body inside the try keeps a stalled body under the same timeout.
      const response = await this.fetchImpl(this.trackUrl, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body,
        signal,
        // A redirect would re-send the key to another URL; surface it as a final status instead.
        redirect: 'manual',
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, text };
    } catch (error) {
      const message = networkFailureMessage(timeout, callerSignal, this.timeoutMs);
      throw new UpstreamError(message, undefined, error);
    }
  }

  private statusError(status: number, headers: Headers, rateLimit: RateLimitInfo): Error {
    if (status === 401 || status === 403) {
      return new AuthError(`Braze rejected the REST API key on /users/track (HTTP ${status})`);
    }
    if (status === 429) {
      const retryAfterMs = retryAfterFrom(headers, rateLimit, this.now());
      return new RateLimitError(
        `Braze rate limit reached on /users/track (HTTP 429); retry after ${retryAfterMs} ms`,
        retryAfterMs,
      );
    }
    return new UpstreamError(`Braze /users/track answered HTTP ${status}`, status);
  }
}

function checkEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch (error) {
    throw new ConfigError('Braze endpoint is not a valid URL', error);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError('Braze endpoint must be an http(s) URL');
  }
  // fetch refuses URLs with credentials and echoes the whole URL in its error message.
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError('Braze endpoint must not contain credentials');
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

function encodeBatch(attributes: AttributeObject[]): string {
  if (attributes.length === 0) {
    throw new BadInputError('Braze /users/track batch is empty; send at least one object');
  }
  if (attributes.length > MAX_ATTRIBUTES_PER_REQUEST) {
    throw new BadInputError(
      `Braze /users/track batch has ${attributes.length} attribute objects; ` +
        `the limit is ${MAX_ATTRIBUTES_PER_REQUEST}`,
    );
  }
  const body = JSON.stringify({ attributes });
  const sizeBytes = Buffer.byteLength(body, 'utf8');
  if (sizeBytes > MAX_PAYLOAD_BYTES) {
    throw new BadInputError(
      `Braze /users/track body is ${sizeBytes} bytes; the limit is ${MAX_PAYLOAD_BYTES}`,
    );
  }
  return body;
}

function networkFailureMessage(
  timeout: AbortSignal,
  callerSignal: AbortSignal | undefined,
  timeoutMs: number,
): string {
  if (callerSignal?.aborted) return 'Braze /users/track request was aborted by the caller';
  if (timeout.aborted) return `Braze /users/track request timed out after ${timeoutMs} ms`;
  return 'Braze /users/track request failed before a response (network error)';
}

/** Reads `x-ratelimit-*`; `Headers.get` is case-insensitive, which HTTP/2's lower case needs. */
export function readRateLimit(headers: Headers): RateLimitInfo {
  const info: RateLimitInfo = {};
  const limit = readNumber(headers.get('x-ratelimit-limit'));
  const remaining = readNumber(headers.get('x-ratelimit-remaining'));
  const reset = readNumber(headers.get('x-ratelimit-reset'));
  if (limit !== undefined) info.limit = limit;
  if (remaining !== undefined) info.remaining = remaining;
  // Braze sends the reset as UTC epoch seconds.
  if (reset !== undefined) info.resetAtMs = reset * 1000;
  return info;
}

/**
 * Wait requested by a 429: `Retry-After` (seconds or an HTTP date) first, then the messaging
 * API's `X-RateLimit-Retry-After`, then the window reset, else one default window.
 */
function retryAfterFrom(headers: Headers, rateLimit: RateLimitInfo, nowMs: number): number {
  const candidates = [
    retryAfterHeaderMs(headers.get('retry-after'), nowMs),
    retryAfterHeaderMs(headers.get('x-ratelimit-retry-after'), nowMs),
    rateLimit.resetAtMs === undefined ? undefined : rateLimit.resetAtMs - nowMs,
  ];
  const waitMs = candidates.find((value) => value !== undefined) ?? DEFAULT_RATE_LIMIT_WINDOW_MS;
  return Math.max(MIN_RETRY_AFTER_MS, Math.ceil(waitMs));
}

function retryAfterHeaderMs(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = readNumber(value);
  if (seconds !== undefined) return seconds * 1000;
  const dateMs = Date.parse(value);
  return Number.isNaN(dateMs) ? undefined : dateMs - nowMs;
}

function readNumber(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // A 2xx with an unreadable body still means Braze queued the batch.
    return undefined;
  }
}
