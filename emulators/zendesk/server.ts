import { createServer } from 'node:http';
import { listen } from '../../local/listen';
import { answerRequest, sendScripted, type RouteState, type ScriptedAnswer } from './routes';
import { RecordStore, type ZendeskObject, type ZendeskRecord } from './store';

export type { ScriptedAnswer } from './routes';

/** Options for `startZendeskEmulator`. */
export type ZendeskEmulatorOptions = {
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** Port; default 0 (a free port chosen by the OS, read it back from `port`). */
  port?: number;
  /** API-token logins accepted with Basic auth as `email/token:apiToken`. */
  credentials?: { email: string; apiToken: string }[];
  /** OAuth access tokens accepted as `Bearer`. */
  oauthTokens?: string[];
  users?: ZendeskRecord[];
  tickets?: ZendeskRecord[];
  organizations?: ZendeskRecord[];
  /** Clock for the request log, in epoch ms; tests share a fake clock with the client. */
  now?: () => number;
};

/** One answered request, oldest first; `n` counts from 1 since start or the last reset. */
export type ZendeskRequestLogEntry = {
  n: number;
  method: string;
  path: string;
  /** The raw query string without `?`, '' when there is none. */
  query: string;
  status: number;
  atMs: number;
};

/** A running emulator. Every method is synchronous except `stop`. */
export type ZendeskEmulator = {
  /** Base URL of the account, e.g. `http://127.0.0.1:41234`; the API is under `/api/v2`. */
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Adds records to an object or replaces those with the same id. */
  put(object: ZendeskObject, records: ZendeskRecord[]): void;
  /** Makes request number `n` (counted from 1, like the log) answer `answer` instead. */
  answer(n: number, answer: ScriptedAnswer): void;
  /** Requests so far to exactly this path and query, e.g. `/api/v2/x.json?cursor=u1`. */
  requestCount(pathAndQuery: string): number;
  requestLog(): ZendeskRequestLogEntry[];
  /** Forgets the log, counters and pending scripted answers; records and cursors stay. */
  reset(): void;
};

/**
 * Starts a local stand-in for Zendesk's incremental export API: cursor-based users and tickets,
 * time-based organizations (and users and tickets), Zendesk's response shapes, error bodies and
 * `Retry-After`, Basic API-token and Bearer OAuth authentication. Test data only; it writes
 * nothing to the console.
 */
export async function startZendeskEmulator(
  opts: ZendeskEmulatorOptions = {},
): Promise<ZendeskEmulator> {
  const store = new RecordStore();
  store.put('users', opts.users ?? []);
  store.put('tickets', opts.tickets ?? []);
  store.put('organizations', opts.organizations ?? []);
  const host = opts.host ?? '127.0.0.1';
  const now = opts.now ?? Date.now;
  let url = '';
  const state: RouteState = {
    store,
    basicCredentials: new Set(
      (opts.credentials ?? []).map((login) => `${login.email}/token:${login.apiToken}`),
    ),
    bearerTokens: new Set(opts.oauthTokens ?? []),
    baseUrl: () => url,
  };
  let log: ZendeskRequestLogEntry[] = [];
  let scripted = new Map<number, ScriptedAnswer>();

  const server = createServer((req, res) => {
    // Requests carry no body we read; draining keeps keep-alive connections usable.
    req.resume();
    const n = log.length + 1;
    const target = new URL(req.url ?? '/', 'http://emulator');
    const atMs = now();
    const answer = scripted.get(n);
    scripted.delete(n);
    let status: number;
    if (answer !== undefined) {
      sendScripted(res, answer);
      status = answer.status;
    } else {
      status = answerRequest(req, res, state);
    }
    const query = target.search.replace(/^\?/, '');
    log.push({ n, method: req.method ?? 'GET', path: target.pathname, query, status, atMs });
  });
  const port = await listen(server, host, opts.port);
  url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopping;
    },
    put: (object, records) => store.put(object, records),
    answer(n, answer) {
      if (!Number.isInteger(n) || n < 1) throw new RangeError('answer: n must be 1 or more');
      if (!Number.isInteger(answer.status) || answer.status < 200 || answer.status > 599) {
        throw new RangeError('answer: status must be an HTTP status between 200 and 599');
      }
      scripted.set(n, { ...answer });
    },
    requestCount: (pathAndQuery) =>
      log.filter((e) => (e.query ? `${e.path}?${e.query}` : e.path) === pathAndQuery).length,
    requestLog: () => log.map((entry) => ({ ...entry })),
    reset() {
      log = [];
      scripted = new Map();
    },
  };
}
