/**
 * Numbers the Salesforce emulator enforces, as Salesforce documents them. Kept apart from the
 * connector's own constants so that a wrong number in the client fails against the emulator.
 */

/**
 * REST query page size: 2,000 by default; `Sforce-Query-Options: batchSize` may ask for 200 to
 * 2,000. Source: REST API Developer Guide, "Query Options Header".
 */
export const MAX_QUERY_BATCH_SIZE = 2000;
export const MIN_QUERY_BATCH_SIZE = 200;

/**
 * getDeleted only reaches 30 days back. Source: REST API Developer Guide, "Get Deleted Records
 * Within a Given Timeframe".
 */
export const REPLICATION_WINDOW_MS = 30 * 24 * 60 * 60 * 1000;

/** The SOAP login path prefix; the API version follows it. Source: SOAP API Developer Guide. */
export const SOAP_LOGIN_PATH = '/services/Soap/u/';
