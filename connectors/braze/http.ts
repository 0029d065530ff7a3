import { ConfigError } from '../errors';
import { DEFAULT_RATE_LIMIT_WINDOW_MS } from './limits';
import type { RateLimitInfo } from './types';

/** Shortest wait reported on a 429, so a reset time already in the past never means "now". */
const MIN_RETRY_AFTER_MS = 1000;

/** The endpoint as a base URL without a trailing slash. @throws ConfigError when unusable. */
export function checkEndpoint(endpoint: string): string {
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

/** Why a request got no response, naming the endpoint path but nothing else of the request. */
export function networkFailureMessage(
  path: string,
  timeout: AbortSignal,
  callerSignal: AbortSignal | undefined,
  timeoutMs: number,
): string {
  if (callerSignal?.aborted) return `Braze ${path} request was aborted by the caller`;
  if (timeout.aborted) return `Braze ${path} request timed out after ${timeoutMs} ms`;
  return `Braze ${path} request failed before a response (network error)`;
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
export function retryAfterFrom(headers: Headers, rateLimit: RateLimitInfo, nowMs: number): number {
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

/** Parses a response body; a 2xx with an unreadable body still means Braze queued the work. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
