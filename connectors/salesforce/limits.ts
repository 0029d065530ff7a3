/** Salesforce limits and timings the connector relies on, each with where it comes from. */

/**
 * REST query page size bounds for `Sforce-Query-Options: batchSize`. Salesforce may still
 * answer with smaller pages. Source: REST API Developer Guide, "Query Options Header".
 */
export const MIN_QUERY_BATCH_SIZE = 200;
export const MAX_QUERY_BATCH_SIZE = 2000;

/**
 * Wait after REQUEST_LIMIT_EXCEEDED. The org's 24-hour API allowance ("TotalRequests Limit
 * exceeded") frees up as the rolling window moves, so waiting a while is enough; the
 * concurrent long-request limit clears within seconds. Source: "API Request Limits and
 * Allocations" in the Salesforce Developer Limits Quick Reference.
 */
export const TOTAL_REQUESTS_RETRY_AFTER_MS = 15 * 60 * 1000;
export const CONCURRENT_REQUESTS_RETRY_AFTER_MS = 30 * 1000;

/**
 * Bulk API 2.0 query job status is polled at this interval; Salesforce asks clients not to poll
 * more often than needed. Source: Bulk API 2.0 Developer Guide, "Get Information About a Query
 * Job".
 */
export const BULK_POLL_INTERVAL_MS = 2000;

/**
 * Records per Bulk API 2.0 result page (`maxRecords`). Salesforce suggests large pages for
 * throughput; 50,000 rows keeps one page's memory bounded. Source: Bulk API 2.0 Developer
 * Guide, "Get Results for a Query Job".
 */
export const BULK_RESULT_PAGE_RECORDS = 50_000;

/**
 * getDeleted only reaches 30 days back. The first window starts this much before the first
 * read began, to absorb clock skew between the worker and Salesforce. Source: REST API
 * Developer Guide, "Get Deleted Records Within a Given Timeframe".
 */
export const DELETED_CLOCK_SKEW_MS = 5 * 60 * 1000;
