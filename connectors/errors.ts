/**
 * Typed errors shared by every connector. Activities turn them into Temporal failures in one
 * place (see activities/failure.ts); `retryable` decides whether Temporal retries the activity.
 */
export class SyncError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(message: string, opts: { code: string; retryable: boolean; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.retryable = opts.retryable;
  }
}

/** A configuration value is missing or wrong. Final: retrying cannot fix it. */
export class ConfigError extends SyncError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'CONFIG', retryable: false, cause });
  }
}

/** The remote system rejected our credentials. Final, and needs a person. */
export class AuthError extends SyncError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'AUTH', retryable: false, cause });
  }
}

/** The remote system asks us to slow down; `retryAfterMs` is how long it wants us to wait. */
export class RateLimitError extends SyncError {
  readonly retryAfterMs: number;

  constructor(message: string, retryAfterMs: number, cause?: unknown) {
    super(message, { code: 'RATE_LIMIT', retryable: true, cause });
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * An HTTP or protocol failure upstream. 408, 423, 429 and 5xx (except 501) are transient;
 * every other status is final.
 */
export class UpstreamError extends SyncError {
  readonly status: number | undefined;

  constructor(message: string, status: number | undefined, cause?: unknown) {
    super(message, { code: 'UPSTREAM', retryable: isRetryableStatus(status), cause });
    this.status = status;
  }
}

/** Input that cannot be used. Final. The message names the file, row and field. */
export class BadInputError extends SyncError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'BAD_INPUT', retryable: false, cause });
  }
}

/** Whether an HTTP status is worth retrying; a missing status means the network failed. */
export function isRetryableStatus(status: number | undefined): boolean {
  if (status === undefined) return true;
  if (status === 408 || status === 423 || status === 429) return true;
  return status >= 500 && status !== 501;
}

/** Names of the error classes that must never be retried, for workflow retry policies. */
export const FINAL_ERROR_TYPES = ['ConfigError', 'AuthError', 'BadInputError'] as const;
