/**
 * Numbers the emulator enforces, as Braze documents them. Kept apart from the client's
 * `connectors/braze/limits.ts` on purpose: the emulator plays Braze, so a wrong number in the
 * client must show up as a failing request here rather than be silently agreed with.
 */

/**
 * Objects per array (`attributes`, `events`, `purchases`) in one `/users/track` request.
 * Source: https://www.braze.com/docs/api/api_limits/
 */
export const MAX_OBJECTS_PER_ARRAY = 75;

/**
 * Longest product id, and longest event or purchase property name.
 * Source: https://www.braze.com/docs/api/objects_filters/event_object/ and purchase_object/
 */
export const MAX_PROPERTY_NAME_LENGTH = 255;

/**
 * Largest purchase `quantity`.
 * Source: https://www.braze.com/docs/api/objects_filters/purchase_object/
 */
export const MAX_PURCHASE_QUANTITY = 100;

/** Largest REST body in bytes; larger gets 413. Source: Braze user data endpoints index page. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Identifiers per `/users/export/ids` request.
 * Source: https://www.braze.com/docs/api/endpoints/export/user_data/post_users_identifier/
 */
export const MAX_EXPORT_IDS = 50;

/**
 * Default `/users/track` rate limit: 3,000 requests per 3 seconds per workspace (since
 * 2024-10-28). Source: https://www.braze.com/docs/api/endpoints/user_data/post_user_track/
 */
export const DEFAULT_REQUEST_VOLUME = 3000;
export const DEFAULT_TIME_WINDOW_MS = 3000;

/**
 * Default maximum length of a flat array attribute; longer arrays are truncated.
 * Source: https://www.braze.com/docs/api/objects_filters/user_attributes_object/
 */
export const MAX_ARRAY_LENGTH = 25;

/**
 * Keys that never count as data points: identifiers, and the subscription, push-token and
 * locale keys Braze does not bill.
 * Source: https://www.braze.com/docs/user_guide/data/infrastructure/data_points/
 */
export const NON_BILLABLE_KEYS: ReadonlySet<string> = new Set([
  'external_id',
  'user_alias',
  'braze_id',
  'country',
  'language',
  'email_subscribe',
  'push_subscribe',
  'subscription_groups',
  'push_tokens',
]);

/** Request switches inside an attributes object; they steer processing and are never stored. */
export const CONTROL_KEYS: ReadonlySet<string> = new Set([
  '_update_existing_only',
  '_merge_objects',
  'push_token_import',
]);

/**
 * Standard profile fields, which `/users/export/ids` returns at the top level of a user; every
 * other key is a custom attribute.
 * Source: https://www.braze.com/docs/api/objects_filters/user_attributes_object/
 */
export const STANDARD_FIELDS: ReadonlySet<string> = new Set([
  'alias_name',
  'alias_label',
  'braze_id',
  'country',
  'current_location',
  'date_of_first_session',
  'date_of_last_session',
  'dob',
  'email',
  'email_subscribe',
  'email_open_tracking_disabled',
  'email_click_tracking_disabled',
  'external_id',
  'facebook',
  'first_name',
  'gender',
  'home_city',
  'image_url',
  'language',
  'last_name',
  'marked_email_as_spam_at',
  'phone',
  'push_subscribe',
  'push_tokens',
  'subscription_groups',
  'time_zone',
  'twitter',
]);

/**
 * Merge pairs per `/users/merge` request.
 * Source: https://www.braze.com/docs/api/endpoints/user_data/post_users_merge/
 */
export const MAX_MERGE_UPDATES = 50;

/**
 * Identifiers per `/users/delete` request.
 * Source: https://www.braze.com/docs/api/endpoints/user_data/post_user_delete/
 */
export const MAX_DELETE_IDS = 50;

/**
 * Rate limit shared by `/users/merge`, `/users/delete`, `/users/identify` and `/users/alias/*`:
 * 20,000 requests per minute, apart from the `/users/track` limit.
 * Source: https://www.braze.com/docs/api/api_limits/
 */
export const DEFAULT_IDENTITY_REQUEST_VOLUME = 20_000;
export const DEFAULT_IDENTITY_TIME_WINDOW_MS = 60_000;

/**
 * Rename objects per `/users/external_ids/rename` request, and that endpoint's own rate limit
 * of 1,000 requests a minute.
 * Source: https://www.braze.com/docs/api/endpoints/user_data/external_id_migration/post_external_ids_rename/
 */
export const MAX_RENAMES = 50;
export const DEFAULT_RENAME_REQUEST_VOLUME = 1000;
export const DEFAULT_RENAME_TIME_WINDOW_MS = 60_000;
