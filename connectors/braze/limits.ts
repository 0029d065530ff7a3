/**
 * Braze `/users/track` limits, named so callers batch and pace against the same numbers.
 * The emulator keeps its own copy on purpose: it plays Braze, so a wrong number here must not
 * be silently agreed with there.
 */

/**
 * Attribute objects accepted in one `/users/track` request. Braze answers more with
 * "400 Max Input Length Exceeded".
 * Source: https://www.braze.com/docs/api/api_limits/ and
 * https://www.braze.com/docs/api/endpoints/user_data/post_user_track/
 */
export const MAX_ATTRIBUTES_PER_REQUEST = 75;

/**
 * Event objects, and separately purchase objects, accepted in one `/users/track` request.
 * Source: https://www.braze.com/docs/api/api_limits/ ("75 events, 75 purchases")
 */
export const MAX_EVENTS_PER_REQUEST = 75;
export const MAX_PURCHASES_PER_REQUEST = 75;

/**
 * Largest purchase quantity Braze takes; it records a quantity of N as N purchases of one.
 * Source: https://www.braze.com/docs/api/objects_filters/purchase_object/
 */
export const MAX_PURCHASE_QUANTITY = 100;

/**
 * Largest request body Braze accepts on any REST endpoint, in bytes; larger bodies get 413.
 * Source: https://www.braze.com/docs/api/endpoints/user_data/ (user data endpoints index)
 */
export const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

/**
 * Default `/users/track` rate limit per workspace since 2024-10-28: 3,000 requests per three
 * seconds. Contracts can raise it, so syncs take their own values from configuration.
 * Source: https://www.braze.com/docs/api/endpoints/user_data/post_user_track/ (rate limit)
 */
export const DEFAULT_RATE_LIMIT_REQUESTS = 3000;

/** Length of the default rate-limit window, in milliseconds (see DEFAULT_RATE_LIMIT_REQUESTS). */
export const DEFAULT_RATE_LIMIT_WINDOW_MS = 3000;

/**
 * Merge pairs (`merge_updates`) accepted in one `/users/merge` request.
 * Source: https://www.braze.com/docs/api/endpoints/user_data/post_users_merge/
 */
export const MAX_MERGES_PER_REQUEST = 50;

/**
 * Identifiers accepted in one `/users/delete` request.
 * Source: https://www.braze.com/docs/api/endpoints/user_data/post_user_delete/
 */
export const MAX_DELETE_IDS_PER_REQUEST = 50;

/**
 * Rename objects (`external_id_renames`) accepted in one `/users/external_ids/rename` request.
 * Source: https://www.braze.com/docs/api/endpoints/user_data/external_id_migration/post_external_ids_rename/
 */
export const MAX_RENAMES_PER_REQUEST = 50;

/**
 * Braze's limit on `/users/external_ids/rename`: 1,000 requests a minute, apart from the
 * `/users/track` and `/users/merge`/`/users/delete` limits. Renames are rare next to attribute
 * updates, so syncs pace them with their `requestVolume` window and Braze's 429s.
 * Source: https://www.braze.com/docs/api/endpoints/user_data/external_id_migration/post_external_ids_rename/
 */
export const RENAME_RATE_LIMIT_REQUESTS = 1000;
export const RENAME_RATE_LIMIT_WINDOW_MS = 60_000;

/**
 * External ids per `/users/export/ids` request; used to check, after a resent rename, which id
 * is now a profile's primary one.
 * Source: https://www.braze.com/docs/api/endpoints/export/user_data/post_users_identifier/
 */
export const MAX_EXPORT_IDS_PER_REQUEST = 50;
