export { BrazeClient } from './client';
export type { BrazeClientOptions } from './client';
export { readRateLimit } from './http';
export {
  DEFAULT_RATE_LIMIT_REQUESTS,
  DEFAULT_RATE_LIMIT_WINDOW_MS,
  MAX_ATTRIBUTES_PER_REQUEST,
  MAX_DELETE_IDS_PER_REQUEST,
  MAX_EVENTS_PER_REQUEST,
  MAX_EXPORT_IDS_PER_REQUEST,
  MAX_MERGES_PER_REQUEST,
  MAX_PAYLOAD_BYTES,
  MAX_PURCHASE_QUANTITY,
  MAX_PURCHASES_PER_REQUEST,
  MAX_RENAMES_PER_REQUEST,
  RENAME_RATE_LIMIT_REQUESTS,
  RENAME_RATE_LIMIT_WINDOW_MS,
} from './limits';
export {
  mapItemErrors,
  mapRenameErrors,
  readAttributesProcessed,
  readDeletedCount,
  readEventsProcessed,
  toAttributeObject,
  toEventObject,
  toPurchaseObject,
  toDeleteBody,
  toMergeBody,
  toRenameBody,
} from './mapping';
export type {
  AttributeObject,
  DeleteResult,
  EventArray,
  EventObject,
  EventTrackResult,
  MergePair,
  PurchaseObject,
  TrackedEvent,
  TrackedPurchase,
  MergeResult,
  PrimaryIdsResult,
  RateLimitInfo,
  RenamePair,
  RenameResult,
  TrackResult,
} from './types';
