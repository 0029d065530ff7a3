import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerKey, errorBody, parseJsonOrUndefined, readBody, sendJson } from './http-io';
import { MAX_BODY_BYTES, MAX_EXPORT_IDS } from './limits';
import type { FixedRateWindow, RateWindowState } from './rate-window';
import { isPlainObject, toExportUser, type ProfileStore } from './store';
import { externalIdsOf, handleTrack } from './track';
import { handleDelete, handleMerge, handleRename, type UserOpOutcome } from './user-ops';

/** The user endpoints other than `/users/track`, by what they do. */
export type UserOp = 'merge' | 'delete' | 'rename';

/** Counters kept by the emulator; see `BrazeEmulator.stats`. */
export type EmulatorCounters = {
  requests: number;
  acceptedRequests: number;
  rateLimited: number;
  attributesReceived: number;
  dataPointsWritten: number;
  /** Every `/users/merge` request, whatever its answer. */
  mergeRequests: number;
  /** Profiles merged away by accepted `/users/merge` requests. */
  usersMerged: number;
  /** Every `/users/delete` request, whatever its answer. */
  deleteRequests: number;
  /** Profiles removed by accepted `/users/delete` requests. */
  usersDeleted: number;
  /** Every `/users/external_ids/rename` request, whatever its answer. */
  renameRequests: number;
  /** Profiles whose external id accepted `/users/external_ids/rename` requests renamed. */
  usersRenamed: number;
  /** Custom event objects stored by accepted `/users/track` requests. */
  eventsRecorded: number;
  /** Purchase objects stored by accepted `/users/track` requests (whatever their quantity). */
  purchasesRecorded: number;
};

/** One `/users/track` request as the emulator answered it. `at` is arrival, epoch ms. */
export type BrazeRequestLogEntry = {
  at: number;
  status: number;
  attributeCount: number;
  externalIds: string[];
};

/** Mutable state shared by the routes and the `BrazeEmulator` handle. */
export type EmulatorState = {
  apiKeys: ReadonlySet<string>;
  store: ProfileStore;
  limiter: FixedRateWindow;
  /** The limit `/users/merge` and `/users/delete` share, apart from `/users/track`'s. */
  identityLimiter: FixedRateWindow;
  /** `/users/external_ids/rename`'s own limit. */
  renameLimiter: FixedRateWindow;
  counters: EmulatorCounters;
  log: BrazeRequestLogEntry[];
  failures: { remaining: number; status: number };
  responseDelayMs: number;
  /** Pending response delays, cleared on stop so the process can exit. */
  timers: Set<NodeJS.Timeout>;
};

/** Answers `POST /users/track`: failure injection, auth, rate limit, size, JSON, then data. */
export async function trackRoute(
  req: IncomingMessage,
  res: ServerResponse,
  state: EmulatorState,
): Promise<void> {
  const at = Date.now();
  const { text, tooLarge } = await readBody(req, MAX_BODY_BYTES);
  const parsed = tooLarge ? undefined : parseJsonOrUndefined(text);
  state.counters.requests += 1;

  let rate: RateWindowState;
  let status: number;
  let body: unknown;
  if (state.failures.remaining > 0) {
    // Injected failures stand for Braze failing before it reads anything, so they count nothing.
    state.failures.remaining -= 1;
    rate = state.limiter.peek();
    status = state.failures.status;
    body = errorBody(status);
  } else if (!isKnownKey(req, state)) {
    rate = state.limiter.peek();
    status = 401;
    body = errorBody(401);
  } else {
    rate = state.limiter.take();
    ({ status, body } = acceptedRoute(rate, tooLarge, parsed, state));
  }

  if (status === 201) state.counters.acceptedRequests += 1;
  if (status === 429) state.counters.rateLimited += 1;
  const attributes = isPlainObject(parsed?.value) ? parsed.value.attributes : undefined;
  const attributeCount = Array.isArray(attributes) ? attributes.length : 0;
  state.log.push({ at, status, attributeCount, externalIds: externalIdsOf(parsed?.value) });

  await delay(state.responseDelayMs, state.timers);
  sendJson(res, status, body, rateHeaders(rate));
}

function acceptedRoute(
  rate: RateWindowState,
  tooLarge: boolean,
  parsed: { value: unknown } | undefined,
  state: EmulatorState,
): { status: number; body: unknown } {
  if (!rate.allowed) return { status: 429, body: errorBody(429) };
  if (tooLarge) return { status: 413, body: errorBody(413) };
  if (parsed === undefined) return { status: 400, body: { message: 'Invalid JSON in body' } };

  const outcome = handleTrack(parsed.value, state.store);
  state.counters.attributesReceived += outcome.attributesExamined;
  state.counters.dataPointsWritten += outcome.dataPoints;
  state.counters.eventsRecorded += outcome.eventsRecorded;
  state.counters.purchasesRecorded += outcome.purchasesRecorded;
  return { status: outcome.status, body: outcome.body };
}

/**
 * Answers `POST /users/export/ids` for `external_ids` (at most 50) or one `email_address`,
 * honouring `fields_to_export`. Not rate limited and not counted in the track statistics.
 */
export async function exportRoute(
  req: IncomingMessage,
  res: ServerResponse,
  state: EmulatorState,
): Promise<void> {
  const { text, tooLarge } = await readBody(req, MAX_BODY_BYTES);
  if (!isKnownKey(req, state)) return sendJson(res, 401, errorBody(401));
  if (tooLarge) return sendJson(res, 413, errorBody(413));
  const parsed = parseJsonOrUndefined(text);
  if (parsed === undefined || !isPlainObject(parsed.value)) {
    return sendJson(res, 400, { message: 'Invalid JSON in body' });
  }

  const { external_ids: ids, email_address: email, fields_to_export: fields } = parsed.value;
  if (ids !== undefined && !isStringArray(ids)) {
    return sendJson(res, 400, { message: "'external_ids' must be an array of strings" });
  }
  if (ids === undefined && typeof email !== 'string') {
    return sendJson(res, 400, { message: "Provide 'external_ids' or 'email_address'" });
  }
  if (ids !== undefined && ids.length > MAX_EXPORT_IDS) {
    const message = 'The max number of external_ids and aliases per request was exceeded';
    return sendJson(res, 400, { message });
  }
  if (fields !== undefined && !isStringArray(fields)) {
    return sendJson(res, 400, { message: "'fields_to_export' must be an array of strings" });
  }

  const wanted = fields === undefined ? undefined : new Set(fields);
  const found = (ids ?? []).map((id) => ({ id, profile: state.store.get(id) }));
  const byEmail = typeof email === 'string' ? state.store.findByEmail(email) : [];
  const users = [...found.flatMap((f) => (f.profile ? [f.profile] : [])), ...byEmail];
  sendJson(res, 201, {
    message: 'success',
    users: users.map((profile) =>
      withActivity(toExportUser(profile, wanted), profile, state, wanted),
    ),
    invalid_user_ids: found.filter((f) => f.profile === undefined).map((f) => f.id),
  });
}

/**
 * Answers `POST /users/merge`, `/users/delete` and `/users/external_ids/rename` with the same
 * order of checks as `/users/track` (injected failure, auth, the endpoint's rate limit, size,
 * JSON), then applies the body to the profile store. Merge and delete share one limit, rename
 * has its own. Counted in `mergeRequests`, `deleteRequests` and `renameRequests`.
 */
export async function userOpRoute(
  kind: UserOp,
  req: IncomingMessage,
  res: ServerResponse,
  state: EmulatorState,
): Promise<void> {
  const { text, tooLarge } = await readBody(req, MAX_BODY_BYTES);
  state.counters[`${kind}Requests`] += 1;
  const limiter = kind === 'rename' ? state.renameLimiter : state.identityLimiter;

  let rate: RateWindowState;
  let outcome: UserOpOutcome;
  if (state.failures.remaining > 0) {
    state.failures.remaining -= 1;
    rate = limiter.peek();
    outcome = { status: state.failures.status, body: errorBody(state.failures.status), removed: 0 };
  } else if (!isKnownKey(req, state)) {
    rate = limiter.peek();
    outcome = { status: 401, body: errorBody(401), removed: 0 };
  } else {
    rate = limiter.take();
    outcome = acceptedUserOp(kind, rate, tooLarge, text, state);
  }

  if (outcome.status === 429) state.counters.rateLimited += 1;
  if (kind === 'merge') state.counters.usersMerged += outcome.removed;
  else if (kind === 'delete') state.counters.usersDeleted += outcome.removed;
  else state.counters.usersRenamed += outcome.removed;
  await delay(state.responseDelayMs, state.timers);
  sendJson(res, outcome.status, outcome.body, rateHeaders(rate));
}

function acceptedUserOp(
  kind: UserOp,
  rate: RateWindowState,
  tooLarge: boolean,
  text: string,
  state: EmulatorState,
): UserOpOutcome {
  if (!rate.allowed) return { status: 429, body: errorBody(429), removed: 0 };
  if (tooLarge) return { status: 413, body: errorBody(413), removed: 0 };
  const parsed = parseJsonOrUndefined(text);
  if (parsed === undefined) {
    return { status: 400, body: { message: 'Invalid JSON in body' }, removed: 0 };
  }
  if (kind === 'merge') return handleMerge(parsed.value, state.store);
  if (kind === 'delete') return handleDelete(parsed.value, state.store);
  return handleRename(parsed.value, state.store);
}

/**
 * Adds `custom_events` and `purchases` ([{name, first, last, count}]) to an exported user that
 * has any, when `fields_to_export` asks for them or is absent; users without any keep Braze's
 * "missing field" shape (left out).
 */
function withActivity(
  user: Record<string, unknown>,
  profile: Record<string, unknown>,
  state: EmulatorState,
  wanted: ReadonlySet<string> | undefined,
): Record<string, unknown> {
  if (typeof profile.external_id !== 'string') return user;
  const activity = state.store.activity(profile.external_id);
  for (const field of ['custom_events', 'purchases'] as const) {
    if (activity[field].length > 0 && (wanted === undefined || wanted.has(field))) {
      user[field] = activity[field];
    }
  }
  return user;
}

function isKnownKey(req: IncomingMessage, state: EmulatorState): boolean {
  const key = bearerKey(req);
  return key !== undefined && state.apiKeys.has(key);
}

function rateHeaders(rate: RateWindowState): Record<string, string> {
  return {
    'X-RateLimit-Limit': String(rate.limit),
    'X-RateLimit-Remaining': String(rate.remaining),
    'X-RateLimit-Reset': String(rate.resetEpochSeconds),
  };
}

function delay(ms: number, timers: Set<NodeJS.Timeout>): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      resolve();
    }, ms);
    timers.add(timer);
  });
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
