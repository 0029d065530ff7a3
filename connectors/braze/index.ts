export { BrazeClient } from './client';
export type { BrazeClientOptions } from './client';
export { readRateLimit } from './http';
export {
  DEFAULT_RATE_LIMIT_REQUESTS,
  DEFAULT_RATE_LIMIT_WINDOW_MS,
  MAX_ATTRIBUTES_PER_REQUEST,
  MAX_DELETE_IDS_PER_REQUEST,
  MAX_EVENTS_PER_REQUEST,
  MAX_MERGES_PER_REQUEST,
  MAX_PAYLOAD_BYTES,
  MAX_PURCHASE_QUANTITY,
  MAX_PURCHASES_PER_REQUEST,
} from './limits';
export {
  mapItemErrors,
  readAttributesProcessed,
  readDeletedCount,
  readEventsProcessed,
  toAttributeObject,
  toEventObject,
  toPurchaseObject,
  toDeleteBody,
  toMergeBody,
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
  RateLimitInfo,
  TrackResult,
} from './types';
