export { BrazeClient, readRateLimit } from './client';
export type { BrazeClientOptions } from './client';
export {
  DEFAULT_RATE_LIMIT_REQUESTS,
  DEFAULT_RATE_LIMIT_WINDOW_MS,
  MAX_ATTRIBUTES_PER_REQUEST,
  MAX_PAYLOAD_BYTES,
} from './limits';
export { mapItemErrors, readAttributesProcessed, toAttributeObject } from './mapping';
export type { AttributeObject, RateLimitInfo, TrackResult } from './types';
