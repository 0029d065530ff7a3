export { BrazeClient } from './client';
export type { BrazeClientOptions } from './client';
export { readRateLimit } from './http';
export {
  DEFAULT_RATE_LIMIT_REQUESTS,
  DEFAULT_RATE_LIMIT_WINDOW_MS,
  MAX_ATTRIBUTES_PER_REQUEST,
  MAX_DELETE_IDS_PER_REQUEST,
  MAX_MERGES_PER_REQUEST,
  MAX_PAYLOAD_BYTES,
} from './limits';
export {
  mapItemErrors,
  readAttributesProcessed,
  readDeletedCount,
  toAttributeObject,
  toDeleteBody,
  toMergeBody,
} from './mapping';
export type {
  AttributeObject,
  DeleteResult,
  MergePair,
  MergeResult,
  RateLimitInfo,
  TrackResult,
} from './types';
