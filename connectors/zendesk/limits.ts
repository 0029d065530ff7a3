/**
 * Zendesk limits and the reader's own retry numbers. Export limits come from
 * https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/
 * ("per_page", "Rate limits": 10 incremental export requests a minute, `Retry-After` on 429).
 */

/** Most records an incremental export page holds (`per_page` maximum and default). */
export const MAX_PAGE_SIZE = 1000;

/** Requests per page, the first included, before a transient failure is handed to the activity. */
export const MAX_ATTEMPTS = 4;

/**
 * Longest `Retry-After` the reader waits out itself. The extraction activity heartbeats once per
 * page with a 60 s heartbeat timeout, so a wait must stay well under that; a longer wait is
 * thrown as RateLimitError and the activity's retry policy sleeps instead, resuming from the
 * last saved page.
 */
export const DEFAULT_MAX_RETRY_WAIT_MS = 30_000;

/** First backoff when a transient failure carries no `Retry-After`; it doubles per attempt. */
export const BASE_BACKOFF_MS = 1_000;
