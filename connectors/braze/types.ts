/**
 * One Braze user attributes object: the identifier plus the attributes to set, `null` to unset.
 * Build it with `toAttributeObject` so Braze's key spelling stays in mapping.ts.
 */
export type AttributeObject = { external_id: string } & Record<string, unknown>;

/**
 * Braze's rate-limit headers as read from a response. `resetAtMs` is epoch milliseconds.
 * Any field is absent when Braze did not send (or sent an unreadable) header.
 */
export type RateLimitInfo = { limit?: number; remaining?: number; resetAtMs?: number };

/**
 * Outcome of one accepted `/users/track` request. `itemErrors` holds the objects Braze refused
 * (index into the array that was sent); every other object was queued. Braze processes
 * asynchronously, so acceptance is not yet visibility on the profile.
 */
export type TrackResult = {
  status: number;
  attributesProcessed: number;
  itemErrors: Array<{ index: number; reason: string }>;
  rateLimit: RateLimitInfo;
};

/** One user merged into another, both named by external id. */
export type MergePair = { mergeExternalId: string; keepExternalId: string };

/** Outcome of one accepted `/users/merge` request. Braze merges asynchronously. */
export type MergeResult = { status: number; rateLimit: RateLimitInfo };

/**
 * Outcome of one accepted `/users/delete` request. `deleted` is Braze's count of users queued
 * for deletion, absent when the answer did not carry a number.
 */
export type DeleteResult = { status: number; deleted?: number; rateLimit: RateLimitInfo };

/** One custom event for a user, in our spelling; `time` is ISO 8601 UTC. */
export type TrackedEvent = { name: string; time: string; properties?: Record<string, unknown> };

/**
 * One purchase for a user, in our spelling: `price` in the currency's base unit, `quantity`
 * 1..100 (Braze counts it as that many purchases of one), `currency` ISO 4217 alphabetic.
 */
export type TrackedPurchase = {
  productId: string;
  currency: string;
  price: number;
  quantity?: number;
  time: string;
  properties?: Record<string, unknown>;
};

/** A Braze event object (`events` array of `/users/track`). Build it with `toEventObject`. */
export type EventObject = { external_id: string; name: string; time: string } & Record<
  string,
  unknown
>;

/** A Braze purchase object (`purchases` array). Build it with `toPurchaseObject`. */
export type PurchaseObject = {
  external_id: string;
  product_id: string;
  currency: string;
  price: number;
  time: string;
} & Record<string, unknown>;

/** The `/users/track` array a batch of events goes in. */
export type EventArray = 'events' | 'purchases';

/**
 * Outcome of one `/users/track` request of events or purchases. `itemErrors` holds the objects
 * Braze refused (index into the array sent); every other object was queued. Braze never
 * dedupes events: re-sending an accepted object records it twice.
 */
export type EventTrackResult = {
  status: number;
  processed: number;
  itemErrors: Array<{ index: number; reason: string }>;
  rateLimit: RateLimitInfo;
};

/** One profile's external id renamed: `from` becomes deprecated, `to` its primary id. */
export type RenamePair = { currentExternalId: string; newExternalId: string };

/**
 * Outcome of one accepted `/users/external_ids/rename` request. `itemErrors` holds the renames
 * Braze refused (index into the pairs sent) with its reason; every other pair was renamed.
 */
export type RenameResult = {
  status: number;
  itemErrors: Array<{ index: number; reason: string }>;
  rateLimit: RateLimitInfo;
};

/**
 * What `/users/export/ids` answered for some external ids, with only `external_id` exported.
 * Braze resolves a deprecated id to its profile and returns the profile's primary id, so a
 * renamed profile asked for by its old id comes back under its new one.
 */
export type PrimaryIdsResult = {
  status: number;
  /** The primary external ids of the profiles found. */
  primaryIds: Set<string>;
  /** Asked-for ids that name no profile (`invalid_user_ids`). */
  unknownIds: Set<string>;
  rateLimit: RateLimitInfo;
};
