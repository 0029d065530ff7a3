import { AuthError, BadInputError, ConfigError, RateLimitError, UpstreamError } from '../errors';
import {
  checkEndpoint,
  networkFailureMessage,
  parseJson,
  readRateLimit,
  retryAfterFrom,
} from './http';
import {
  MAX_ATTRIBUTES_PER_REQUEST,
  MAX_DELETE_IDS_PER_REQUEST,
  MAX_EVENTS_PER_REQUEST,
  MAX_EXPORT_IDS_PER_REQUEST,
  MAX_MERGES_PER_REQUEST,
  MAX_PAYLOAD_BYTES,
  MAX_PURCHASES_PER_REQUEST,
  MAX_RENAMES_PER_REQUEST,
} from './limits';
import {
  mapItemErrors,
  mapRenameErrors,
  readAttributesProcessed,
  readEventsProcessed,
  readDeletedCount,
  readPrimaryIds,
  toDeleteBody,
  toMergeBody,
  toPrimaryIdsBody,
  toRenameBody,
} from './mapping';
import type {
  AttributeObject,
  DeleteResult,
  EventArray,
  EventObject,
  EventTrackResult,
  PurchaseObject,
  MergePair,
  MergeResult,
  PrimaryIdsResult,
  RateLimitInfo,
  RenamePair,
  RenameResult,
  TrackResult,
} from './types';

/** Default time allowed for one request, response body included. */
const DEFAULT_TIMEOUT_MS = 30_000;

type Answer = { status: number; headers: Headers; text: string };

/** Options for `BrazeClient`. `now` exists for tests of the rate-limit arithmetic. */
export type BrazeClientOptions = {
  /** REST endpoint of the Braze instance, e.g. `https://rest.iad-01.braze.com`. */
  endpoint: string;
  /**
   * REST API key with the `users.track` permission, plus `users.merge`, `users.delete` and
   * `users.external_ids.rename` for identity changes (and `users.export.ids` to check a resent
   * rename). Never logged or put in an error.
   */
  apiKey: string;
  /** Time allowed for one request including its response body; default 30 s. */
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
  /** Clock in epoch milliseconds; default `Date.now`. */
  now?: () => number;
};

/** Objects per request for each `/users/track` array of events. */
const EVENT_LIMITS: Record<EventArray, number> = {
  events: MAX_EVENTS_PER_REQUEST,
  purchases: MAX_PURCHASES_PER_REQUEST,
};

/**
 * Minimal Braze client for attribute updates, custom events and purchases (`/users/track`)
 * and identity changes
 * (`/users/merge`, `/users/delete`, `/users/external_ids/rename`).
 *
 * One call is one HTTP request: the client never retries, sleeps or splits a batch, because the
 * activity retry policy is the single retry layer and pacing belongs to the workflow. Failures
 * come back as typed errors from `connectors/errors.ts` whose messages carry the endpoint path
 * and status only, never the key, headers or bodies.
 */
export class BrazeClient {
  private readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;

  /** @throws ConfigError when the endpoint is not a plain http(s) URL or the key is empty. */
  constructor(opts: BrazeClientOptions) {
    this.baseUrl = checkEndpoint(opts.endpoint);
    if (typeof opts.apiKey !== 'string' || opts.apiKey.trim() === '') {
      throw new ConfigError('Braze REST API key is empty');
    }
    this.apiKey = opts.apiKey;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0) {
      throw new ConfigError('Braze timeoutMs must be a positive number of milliseconds');
    }
    this.fetchImpl = opts.fetchImpl ?? fetch;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Sends up to 75 attribute objects in one `/users/track` request.
   *
   * Resolves on any 2xx, with Braze's per-object rejections in `itemErrors` (index into
   * `attributes`). Re-sending the same objects is safe for plain sets and unsets, but not for
   * `inc` or array `add`/`remove` operators, which Braze applies again.
   * @throws BadInputError before any request when the batch is empty, has more than 75 objects
   *   or its body is over 4 MB.
   * @throws AuthError on 401/403; RateLimitError on 429 (with `retryAfterMs`); UpstreamError
   *   with the status otherwise, or with no status when the network failed, the request timed
   *   out or `opts.signal` aborted it.
   */
  async trackAttributes(
    attributes: AttributeObject[],
    opts: { signal?: AbortSignal } = {},
  ): Promise<TrackResult> {
    const body = encodeBatch(attributes);
    const response = await this.post('/users/track', body, opts.signal);
    const rateLimit = readRateLimit(response.headers);

    if (response.status >= 200 && response.status < 300) {
      const parsed = parseJson(response.text);
      const itemErrors = mapItemErrors(parsed, attributes.length);
      const attributesProcessed = readAttributesProcessed(
        parsed,
        attributes.length,
        itemErrors.length,
      );
      return { status: response.status, attributesProcessed, itemErrors, rateLimit };
    }
    throw this.statusError('/users/track', response.status, response.headers, rateLimit);
  }

  /**
   * Sends up to 75 custom events (`array: 'events'`) or 75 purchases (`'purchases'`) in one
   * `/users/track` request; one array per request, so Braze's per-item errors name one list.
   *
   * Resolves on any 2xx with Braze's per-object rejections in `itemErrors` (index into
   * `objects`). A 400 whose errors name every object (Braze's "Valid data must be provided"
   * answer when none is valid) also resolves, with all of them rejected: they are validation
   * errors like those of a 201, not a failure of the request. Braze never dedupes events, so
   * re-sending accepted objects records them twice: callers must keep their own ledger.
   * @throws BadInputError before any request when the batch is empty, too long, or over 4 MB.
   * @throws AuthError, RateLimitError, UpstreamError as for `trackAttributes`.
   */
  async trackEvents(
    array: EventArray,
    objects: EventObject[] | PurchaseObject[],
    opts: { signal?: AbortSignal } = {},
  ): Promise<EventTrackResult> {
    checkCount('/users/track', array, objects.length, EVENT_LIMITS[array]);
    const body = encodeBody({ [array]: objects });
    const response = await this.post('/users/track', body, opts.signal);
    const rateLimit = readRateLimit(response.headers);

    const ok = response.status >= 200 && response.status < 300;
    if (ok || response.status === 400) {
      const parsed = parseJson(response.text);
      const itemErrors = mapItemErrors(parsed, objects.length, array);
      if (ok || itemErrors.length === objects.length) {
        const processed = ok
          ? readEventsProcessed(parsed, array, objects.length, itemErrors.length)
          : 0;
        return { status: response.status, processed, itemErrors, rateLimit };
      }
    }
    throw this.statusError('/users/track', response.status, response.headers, rateLimit);
  }

  /**
   * Merges up to 50 users into others by external id in one `/users/merge` request: each
   * `merge` profile is removed and what the `keep` profile lacks moves onto it. Braze queues
   * merges and processes them in no guaranteed order, so a kept profile should not itself be
   * merged away in the same request. Re-sending a merge whose profile is already gone changes
   * nothing, which makes a retried request safe.
   * @throws BadInputError before any request when the list is empty, has more than 50 pairs,
   *   an empty id, or a pair that merges a user into itself.
   * @throws AuthError, RateLimitError, UpstreamError as for `trackAttributes`.
   */
  async mergeUsers(pairs: MergePair[], opts: { signal?: AbortSignal } = {}): Promise<MergeResult> {
    checkCount('/users/merge', 'merges', pairs.length, MAX_MERGES_PER_REQUEST);
    for (const pair of pairs) {
      if (!pair.mergeExternalId || !pair.keepExternalId) {
        throw new BadInputError('Braze /users/merge pair has an empty external id');
      }
      if (pair.mergeExternalId === pair.keepExternalId) {
        throw new BadInputError('Braze /users/merge pair merges a user into itself');
      }
    }
    const response = await this.post('/users/merge', toMergeBody(pairs), opts.signal);
    const rateLimit = readRateLimit(response.headers);
    if (response.status >= 200 && response.status < 300) {
      return { status: response.status, rateLimit };
    }
    throw this.statusError('/users/merge', response.status, response.headers, rateLimit);
  }

  /**
   * Deletes up to 50 users by external id in one `/users/delete` request. Deletion is
   * irreversible and queued; ids with no profile are ignored, so a retried request is safe.
   * `deleted` is Braze's count of users queued for deletion, when the answer carries it.
   * @throws BadInputError before any request when the list is empty, has more than 50 ids or an
   *   empty id.
   * @throws AuthError, RateLimitError, UpstreamError as for `trackAttributes`.
   */
  async deleteUsers(
    externalIds: string[],
    opts: { signal?: AbortSignal } = {},
  ): Promise<DeleteResult> {
    checkCount('/users/delete', 'external ids', externalIds.length, MAX_DELETE_IDS_PER_REQUEST);
    if (externalIds.some((id) => typeof id !== 'string' || id === '')) {
      throw new BadInputError('Braze /users/delete list has an empty external id');
    }
    const response = await this.post('/users/delete', toDeleteBody(externalIds), opts.signal);
    const rateLimit = readRateLimit(response.headers);
    if (response.status >= 200 && response.status < 300) {
      const deleted = readDeletedCount(parseJson(response.text));
      return { status: response.status, rateLimit, ...(deleted === undefined ? {} : { deleted }) };
    }
    throw this.statusError('/users/delete', response.status, response.headers, rateLimit);
  }

  /**
   * Renames up to 50 profiles' external ids in one `/users/external_ids/rename` request: each
   * `currentExternalId` (which must be a profile's primary id) becomes deprecated and
   * `newExternalId` (which must be in use nowhere) its primary id. The deprecated id still
   * names the same profile in later requests. Braze answers 201 for a valid request and lists
   * the renames it refused in `rename_errors`, returned here as `itemErrors`. A rename resent
   * after it was done is refused (its current id is deprecated by then): check with
   * `primaryIds`.
   * @throws BadInputError before any request when the list is empty, has more than 50 pairs,
   *   an empty id, or a pair whose ids are the same.
   * @throws AuthError, RateLimitError, UpstreamError as for `trackAttributes`.
   */
  async renameExternalIds(
    pairs: RenamePair[],
    opts: { signal?: AbortSignal } = {},
  ): Promise<RenameResult> {
    const path = '/users/external_ids/rename';
    checkCount(path, 'renames', pairs.length, MAX_RENAMES_PER_REQUEST);
    for (const pair of pairs) {
      if (!pair.currentExternalId || !pair.newExternalId) {
        throw new BadInputError(`Braze ${path} pair has an empty external id`);
      }
      if (pair.currentExternalId === pair.newExternalId) {
        throw new BadInputError(`Braze ${path} pair renames an external id to itself`);
      }
    }
    const response = await this.post(path, toRenameBody(pairs), opts.signal);
    const rateLimit = readRateLimit(response.headers);
    if (response.status >= 200 && response.status < 300) {
      const itemErrors = mapRenameErrors(parseJson(response.text), pairs);
      return { status: response.status, itemErrors, rateLimit };
    }
    throw this.statusError(path, response.status, response.headers, rateLimit);
  }

  /**
   * Asks `/users/export/ids` for the primary external id of the profiles these ids name (at
   * most 50), exporting nothing else. Braze resolves deprecated ids, so this tells whether a
   * profile was already renamed. Needs the `users.export.ids` permission.
   * @throws BadInputError before any request when the list is empty or has more than 50 ids.
   * @throws AuthError, RateLimitError, UpstreamError as for `trackAttributes`.
   */
  async primaryIds(
    externalIds: string[],
    opts: { signal?: AbortSignal } = {},
  ): Promise<PrimaryIdsResult> {
    const path = '/users/export/ids';
    checkCount(path, 'external ids', externalIds.length, MAX_EXPORT_IDS_PER_REQUEST);
    const response = await this.post(path, toPrimaryIdsBody(externalIds), opts.signal);
    const rateLimit = readRateLimit(response.headers);
    if (response.status >= 200 && response.status < 300) {
      return { status: response.status, ...readPrimaryIds(parseJson(response.text)), rateLimit };
    }
    throw this.statusError(path, response.status, response.headers, rateLimit);
  }

  private async post(
    path: string,
    body: string,
    callerSignal: AbortSignal | undefined,
  ): Promise<Answer> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = callerSignal ? AbortSignal.any([timeout, callerSignal]) : timeout;
    try {
      // Reading the body inside the try keeps a stalled body under the same timeout.
      const response = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body,
        signal,
        // A redirect would re-send the key to another URL; surface it as a final status instead.
        redirect: 'manual',
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, text };
    } catch (error) {
      const message = networkFailureMessage(path, timeout, callerSignal, this.timeoutMs);
      throw new UpstreamError(message, undefined, error);
    }
  }

  private statusError(
    path: string,
    status: number,
    headers: Headers,
    rateLimit: RateLimitInfo,
  ): Error {
    if (status === 401 || status === 403) {
      return new AuthError(`Braze rejected the REST API key on ${path} (HTTP ${status})`);
    }
    if (status === 429) {
      const retryAfterMs = retryAfterFrom(headers, rateLimit, this.now());
      return new RateLimitError(
        `Braze rate limit reached on ${path} (HTTP 429); retry after ${retryAfterMs} ms`,
        retryAfterMs,
      );
    }
    return new UpstreamError(`Braze ${path} answered HTTP ${status}`, status);
  }
}

function checkCount(path: string, what: string, count: number, limit: number): void {
  if (count === 0) throw new BadInputError(`Braze ${path} request is empty; send at least one`);
  if (count > limit) {
    throw new BadInputError(`Braze ${path} request has ${count} ${what}; the limit is ${limit}`);
  }
}

function encodeBatch(attributes: AttributeObject[]): string {
  if (attributes.length === 0) {
    throw new BadInputError('Braze /users/track batch is empty; send at least one object');
  }
  if (attributes.length > MAX_ATTRIBUTES_PER_REQUEST) {
    throw new BadInputError(
      `Braze /users/track batch has ${attributes.length} attribute objects; ` +
        `the limit is ${MAX_ATTRIBUTES_PER_REQUEST}`,
    );
  }
  return encodeBody({ attributes });
}

function encodeBody(content: Record<string, unknown>): string {
  const body = JSON.stringify(content);
  const sizeBytes = Buffer.byteLength(body, 'utf8');
  if (sizeBytes > MAX_PAYLOAD_BYTES) {
    throw new BadInputError(
      `Braze /users/track body is ${sizeBytes} bytes; the limit is ${MAX_PAYLOAD_BYTES}`,
    );
  }
  return body;
}
