/** The Zendesk objects Braid reads through the incremental export API. */
export type ZendeskObject = 'tickets' | 'users' | 'organizations';

export const ZENDESK_OBJECTS: readonly ZendeskObject[] = ['tickets', 'users', 'organizations'];

/** API-token login (`email/token:apiToken` over Basic auth) or an OAuth access token. */
export type ZendeskAuth = { email: string; apiToken: string } | { oauthToken: string };

/** Where and how to log in. `baseUrl` is the account root, e.g. `https://acme.zendesk.com`. */
export interface ZendeskConnection {
  baseUrl: string;
  auth: ZendeskAuth;
}

/** Structured logger; Temporal's activity `log` fits. Fields never hold secrets or records. */
export interface ZendeskLogger {
  warn(message: string, fields: Record<string, unknown>): void;
}

/** Waits `ms`, rejecting with the signal's reason as soon as it aborts. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** How the reader waits and what it logs; tests inject a fake clock and sleep. */
export interface ZendeskRuntime {
  /** Attempts per page before a transient failure is thrown; default MAX_ATTEMPTS. */
  maxAttempts?: number;
  /** Longest `Retry-After` waited out in place; default DEFAULT_MAX_RETRY_WAIT_MS. */
  maxRetryWaitMs?: number;
  sleep?: Sleep;
  /** Epoch ms, used to read a `Retry-After` given as an HTTP date. */
  now?: () => number;
  logger?: ZendeskLogger;
}
