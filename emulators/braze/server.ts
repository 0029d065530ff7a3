import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen } from '../../local/listen';
import { errorBody, sendJson } from './http-io';
import {
  DEFAULT_IDENTITY_REQUEST_VOLUME,
  DEFAULT_IDENTITY_TIME_WINDOW_MS,
  DEFAULT_RENAME_REQUEST_VOLUME,
  DEFAULT_RENAME_TIME_WINDOW_MS,
  DEFAULT_REQUEST_VOLUME,
  DEFAULT_TIME_WINDOW_MS,
} from './limits';
import { FixedRateWindow } from './rate-window';
import {
  exportRoute,
  trackRoute,
  userOpRoute,
  type BrazeRequestLogEntry,
  type EmulatorCounters,
  type EmulatorState,
} from './routes';
import { ProfileStore, type Profile } from './store';

export type { BrazeRequestLogEntry } from './routes';

/** Options for `startBrazeEmulator`. */
export type BrazeEmulatorOptions = {
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** Port; default 0 (a free port chosen by the OS, read it back from `port`). */
  port?: number;
  /** Bearer keys accepted on the Braze endpoints; anything else gets 401. */
  apiKeys: string[];
  /** Requests allowed per window on `/users/track`; default 3,000. */
  requestVolume?: number;
  /** Rate-limit window length in milliseconds; default 3,000. */
  timeWindowMs?: number;
  /** Requests allowed per window on `/users/merge` and `/users/delete` together; default 20,000. */
  identityRequestVolume?: number;
  /** Window length in milliseconds for the merge/delete limit; default 60,000. */
  identityTimeWindowMs?: number;
  /** Requests allowed per window on `/users/external_ids/rename`; default 1,000. */
  renameRequestVolume?: number;
  /** Window length in milliseconds for the rename limit; default 60,000. */
  renameTimeWindowMs?: number;
  /**
   * Delay before every `/users/track`, `/users/merge`, `/users/delete` and
   * `/users/external_ids/rename` answer, applied after the data is stored; default 0.
   */
  responseDelayMs?: number;
};

/** Counters since start or the last `reset()`; `profiles` is the current profile count. */
export type BrazeEmulatorStats = EmulatorCounters & { profiles: number };

/** A running emulator. Every method is synchronous except `stop`. */
export type BrazeEmulator = {
  /** Base URL to use as the Braze REST endpoint, e.g. `http://127.0.0.1:41234`. */
  url: string;
  port: number;
  /** Closes the server and drops open connections, including delayed answers. Idempotent. */
  stop(): Promise<void>;
  /**
   * `requests`: every `/users/track` request; `acceptedRequests`: those answered 201;
   * `rateLimited`: those answered 429; `attributesReceived`: attribute objects examined one by
   * one (requests refused whole do not count); `dataPointsWritten`: billable attribute writes.
   * `mergeRequests`/`deleteRequests`: every `/users/merge` and `/users/delete` request;
   * `usersMerged`/`usersDeleted`: profiles they removed. `renameRequests`: every
   * `/users/external_ids/rename` request; `usersRenamed`: profiles it renamed. `rateLimited`
   * counts 429s on all four.
   * `eventsRecorded`/`purchasesRecorded`: event and purchase objects stored on profiles.
   */
  stats(): BrazeEmulatorStats;
  /** The custom events and purchases of a profile, as `/users/export/ids` lists them. */
  activity(externalId: string): ReturnType<ProfileStore['activity']>;
  /**
   * A copy of the profile this external id names (attributes plus its primary `external_id`);
   * a deprecated id names the profile it was renamed from, as in Braze.
   */
  profile(externalId: string): Profile | undefined;
  /** The deprecated external ids of the profile this id names, oldest first. */
  deprecatedIds(externalId: string): string[];
  /** Copies of all profiles; email-only profiles carry `email` instead of `external_id`. */
  profiles(): Profile[];
  /** Every answered `/users/track` request, oldest first (other endpoints are not logged). */
  requestLog(): BrazeRequestLogEntry[];
  /** Forgets profiles, counters, the log, the rate window and pending injected failures. */
  reset(): void;
  /**
   * Answers the next `count` requests to `/users/track`, `/users/merge`, `/users/delete` or
   * `/users/external_ids/rename` with `status`, before any checks.
   */
  failNext(count: number, status: number): void;
  setResponseDelay(ms: number): void;
};

/**
 * Starts a local stand-in for Braze's REST API: `POST /users/track`, `/users/merge`,
 * `/users/delete`, `/users/external_ids/rename` and `/users/export/ids` with Braze's limits,
 * validation and response shapes,
 * plus admin endpoints under `/_emulator/`
 * (`GET stats`, `GET users`, `GET users/<external_id>`, `POST reset`) for other processes.
 * It keeps everything in memory and writes nothing to the console.
 */
export async function startBrazeEmulator(opts: BrazeEmulatorOptions): Promise<BrazeEmulator> {
  const state: EmulatorState = {
    apiKeys: new Set(opts.apiKeys),
    store: new ProfileStore(),
    limiter: new FixedRateWindow(
      positiveInteger(opts.requestVolume ?? DEFAULT_REQUEST_VOLUME, 'requestVolume'),
      positiveInteger(opts.timeWindowMs ?? DEFAULT_TIME_WINDOW_MS, 'timeWindowMs'),
    ),
    identityLimiter: new FixedRateWindow(
      positiveInteger(
        opts.identityRequestVolume ?? DEFAULT_IDENTITY_REQUEST_VOLUME,
        'identityRequestVolume',
      ),
      positiveInteger(
        opts.identityTimeWindowMs ?? DEFAULT_IDENTITY_TIME_WINDOW_MS,
        'identityTimeWindowMs',
      ),
    ),
    renameLimiter: new FixedRateWindow(
      positiveInteger(
        opts.renameRequestVolume ?? DEFAULT_RENAME_REQUEST_VOLUME,
        'renameRequestVolume',
      ),
      positiveInteger(
        opts.renameTimeWindowMs ?? DEFAULT_RENAME_TIME_WINDOW_MS,
        'renameTimeWindowMs',
      ),
    ),
    counters: emptyCounters(),
    log: [],
    failures: { remaining: 0, status: 500 },
    responseDelayMs: nonNegative(opts.responseDelayMs ?? 0, 'responseDelayMs'),
    timers: new Set(),
  };
  const host = opts.host ?? '127.0.0.1';

  const server = createServer((req, res) => {
    route(req, res, state).catch(() => {
      // A client that disconnects mid-body lands here; there is nobody left to answer.
      if (!res.headersSent) sendJson(res, 500, errorBody(500));
      else res.destroy();
    });
  });
  const port = await listen(server, host, opts.port);

  let stopping: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        for (const timer of state.timers) clearTimeout(timer);
        state.timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopping;
    },
    stats: () => ({ ...state.counters, profiles: state.store.size }),
    profile: (externalId) => state.store.get(externalId),
    deprecatedIds: (externalId) => state.store.deprecatedIds(externalId),
    activity: (externalId) => state.store.activity(externalId),
    profiles: () => state.store.all(),
    requestLog: () => state.log.map((entry) => ({ ...entry, externalIds: [...entry.externalIds] })),
    reset: () => resetState(state),
    failNext(count, status) {
      if (!Number.isInteger(status) || status < 200 || status > 599) {
        throw new RangeError('failNext status must be an HTTP status between 200 and 599');
      }
      state.failures = { remaining: nonNegative(count, 'failNext count'), status };
    },
    setResponseDelay(ms) {
      state.responseDelayMs = nonNegative(ms, 'responseDelayMs');
    },
  };
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  state: EmulatorState,
): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://emulator').pathname;
  const method = req.method ?? 'GET';
  if (method === 'POST' && path === '/users/track') return trackRoute(req, res, state);
  if (method === 'POST' && path === '/users/export/ids') return exportRoute(req, res, state);
  if (method === 'POST' && path === '/users/merge') return userOpRoute('merge', req, res, state);
  if (method === 'POST' && path === '/users/delete') return userOpRoute('delete', req, res, state);
  if (method === 'POST' && path === '/users/external_ids/rename') {
    return userOpRoute('rename', req, res, state);
  }

  // Admin endpoints are unauthenticated: the emulator only ever holds test data.
  if (method === 'GET' && path === '/_emulator/stats') {
    return sendJson(res, 200, { ...state.counters, profiles: state.store.size });
  }
  if (method === 'GET' && path === '/_emulator/users') {
    return sendJson(res, 200, state.store.all());
  }
  if (method === 'GET' && path.startsWith(USER_PATH)) {
    const externalId = safeDecode(path.slice(USER_PATH.length));
    const profile = externalId === undefined ? undefined : state.store.get(externalId);
    if (profile === undefined) return sendJson(res, 404, { message: 'User not found' });
    return sendJson(res, 200, profile);
  }
  if (method === 'POST' && path === '/_emulator/reset') {
    resetState(state);
    return sendJson(res, 200, { message: 'reset' });
  }
  req.resume();
  sendJson(res, 404, errorBody(404));
}

const USER_PATH = '/_emulator/users/';

function resetState(state: EmulatorState): void {
  state.store.clear();
  state.limiter.reset();
  state.identityLimiter.reset();
  state.renameLimiter.reset();
  state.counters = emptyCounters();
  state.log = [];
  state.failures = { remaining: 0, status: 500 };
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function emptyCounters(): EmulatorCounters {
  return {
    requests: 0,
    acceptedRequests: 0,
    rateLimited: 0,
    attributesReceived: 0,
    dataPointsWritten: 0,
    mergeRequests: 0,
    usersMerged: 0,
    deleteRequests: 0,
    usersDeleted: 0,
    renameRequests: 0,
    usersRenamed: 0,
    eventsRecorded: 0,
    purchasesRecorded: 0,
  };
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer`);
  }
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be >= 0`);
  return value;
}
