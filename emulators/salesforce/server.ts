import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen } from '../../local/listen';
import { readBody, sendJson } from '../braze/http-io';
import { PRESET_FAILURES, SalesforceApiError, type PresetFailure } from './api-error';
import { abortJob, checkJob, createJob, deleteJob, jobResults } from './bulk-routes';
import { MAX_QUERY_BATCH_SIZE, SOAP_LOGIN_PATH } from './limits';
import { continueQuery, deleted, describe, startQuery } from './rest-routes';
import { buildTable, type ObjectSeed } from './seed';
import { soapLogin } from './soap-login';
import { findTable, type EmulatorState, type RequestLogEntry, type SalesforceUser } from './state';
import { restDateTime, type SObjectTable } from './store';

export type { RequestLogEntry, SalesforceUser } from './state';

/** Options for `startSalesforceEmulator`. */
export interface SalesforceEmulatorOptions {
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** Port; default 0 (a free port chosen by the OS). */
  port?: number;
  /** sObjects by API name (`Contact`, `Account`), from rows and/or a CSV file. */
  objects: Record<string, ObjectSeed>;
  /** Users accepted by the SOAP login. */
  users?: SalesforceUser[];
  /** Bearer tokens accepted as if issued by OAuth, for access-token sources. */
  accessTokens?: string[];
  /** Largest REST query page; default 2,000 (Salesforce's). A client's batchSize may lower it. */
  pageSize?: number;
  /** Status checks a Bulk API 2.0 query job answers InProgress before completing; default 1. */
  bulkChecksUntilComplete?: number;
  /** Records per Bulk API result page when the client sends no maxRecords; default 50,000. */
  bulkResultPageSize?: number;
  /** The emulator's clock (epoch ms), used for new modstamps and getDeleted; default Date.now. */
  now?: () => number;
}

/** A custom failure for `failNext`: what Salesforce would answer. */
export interface FailureSpec {
  status: number;
  errorCode: string;
  message: string;
}

/** A running emulator. Every method is synchronous except `stop`. */
export interface SalesforceEmulator {
  /** Base URL, usable as loginUrl and instanceUrl, e.g. `http://127.0.0.1:41234`. */
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Inserts a record (modstamps default to the clock) and returns its Id. */
  insert(object: string, values: Record<string, unknown>): string;
  /** Changes a record; its SystemModstamp and LastModifiedDate move to the clock. */
  update(object: string, id: string, values: Record<string, unknown>): void;
  /** Deletes a record to the recycle bin, as the UI or API would. */
  delete(object: string, id: string): void;
  /** Live record Ids of an object, in insertion order. */
  ids(object: string): string[];
  /** Invalidates every session and access token, as a session timeout does. */
  expireSessions(): void;
  /** Adds and returns a fresh access token. */
  issueAccessToken(): string;
  /** Answers the next `count` API requests (optionally only matching paths) with an error. */
  failNext(
    count: number,
    failure: PresetFailure | FailureSpec,
    opts?: { pathIncludes?: string },
  ): void;
  /** The next REST query chain answers its page `page` with done=false and no nextRecordsUrl. */
  breakNextQueryChain(page: number): void;
  /** Every request answered since start or `clearLog`, oldest first. */
  requestLog(): RequestLogEntry[];
  /** How many logged requests have a path containing `pathIncludes` (all when omitted). */
  requestCount(pathIncludes?: string): number;
  clearLog(): void;
}

/**
 * Starts a local stand-in for a Salesforce org: SOAP login, REST query/queryAll with locators,
 * describe, getDeleted and Bulk API 2.0 query jobs, with Salesforce's response and error
 * shapes. Everything is in memory; nothing is written to the console.
 */
export async function startSalesforceEmulator(
  opts: SalesforceEmulatorOptions,
): Promise<SalesforceEmulator> {
  const now = opts.now ?? Date.now;
  const state: EmulatorState = {
    baseUrl: '',
    orgId: '00D000000000001AAA',
    users: opts.users ?? [],
    sessions: new Set(opts.accessTokens ?? []),
    tables: new Map(),
    cursors: new Map(),
    jobs: new Map(),
    failures: [],
    log: [],
    pageSize: opts.pageSize ?? MAX_QUERY_BATCH_SIZE,
    bulkChecksUntilComplete: opts.bulkChecksUntilComplete ?? 1,
    bulkResultPageSize: opts.bulkResultPageSize ?? 50_000,
    now,
    counter: 0,
  };
  for (const [name, seed] of Object.entries(opts.objects)) {
    state.tables.set(name, buildTable(name, seed, now()));
  }

  const server = createServer((req, res) => {
    handle(req, res, state).catch(() => {
      if (!res.headersSent) sendJson(res, 500, UNKNOWN_ERROR);
      else res.destroy();
    });
  });
  const host = opts.host ?? '127.0.0.1';
  const port = await listen(server, host, opts.port);
  state.baseUrl = `http://${host}:${port}`;

  const table = (name: string): SObjectTable => {
    const found = findTable(state, name);
    if (!found) throw new Error(`The emulator has no object ${name}`);
    return found;
  };
  let stopping: Promise<void> | undefined;
  return {
    url: state.baseUrl,
    port,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopping;
    },
    insert: (object, values) => table(object).insert(values, now()),
    update: (object, id, values) => table(object).update(id, values, now()),
    delete: (object, id) => table(object).delete(id, now()),
    ids: (object) =>
      [...table(object).records.values()]
        .filter((r) => r.get('IsDeleted') !== true)
        .map((r) => r.get('Id') as string),
    expireSessions: () => state.sessions.clear(),
    issueAccessToken() {
      const token = `${state.orgId}!AT${++state.counter}${Math.random().toString(36).slice(2)}`;
      state.sessions.add(token);
      return token;
    },
    failNext(count, failure, failOpts) {
      const spec =
        typeof failure === 'string' ? { ...PRESET_FAILURES[failure], errorCode: failure } : failure;
      state.failures.push({ remaining: count, ...spec, pathIncludes: failOpts?.pathIncludes });
    },
    breakNextQueryChain(page) {
      state.breakNextChainAtPage = page;
    },
    requestLog: () => state.log.map((entry) => ({ ...entry })),
    requestCount: (text) =>
      state.log.filter((e) => text === undefined || e.path.includes(text)).length,
    clearLog() {
      state.log = [];
    },
  };
}

const UNKNOWN_ERROR = [
  { message: 'An unexpected error occurred.', errorCode: 'UNKNOWN_EXCEPTION' },
];
const API_PATH = /^\/services\/data\/v(\d+\.\d)\/(.*)$/;

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  state: EmulatorState,
): Promise<void> {
  const rawUrl = req.url ?? '/';
  const url = new URL(rawUrl, state.baseUrl);
  const method = req.method ?? 'GET';
  const body = await readBody(req, 50 * 1024 * 1024);
  const entry: RequestLogEntry = { method, path: url.pathname, rawUrl, status: 0 };
  state.log.push(entry);

  if (method === 'POST' && url.pathname.startsWith(SOAP_LOGIN_PATH)) {
    const version = url.pathname.slice(SOAP_LOGIN_PATH.length).split('/')[0] ?? '';
    const answer = soapLogin(state, version, body.text);
    entry.status = answer.status;
    res.writeHead(answer.status, { 'content-type': 'text/xml; charset=utf-8' });
    res.end(answer.xml);
    return;
  }

  try {
    const match = API_PATH.exec(url.pathname);
    if (!match)
      throw new SalesforceApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    authenticate(req, state);
    injectFailure(state, url.pathname);
    const answer = route(state, method, match[1]!, match[2]!, url, req, body.text);
    entry.status = answer.status;
    if (answer.csv !== undefined) {
      res.writeHead(answer.status, { ...answer.headers, 'content-type': 'text/csv' });
      res.end(answer.csv);
    } else if (answer.json === undefined) {
      res.writeHead(answer.status);
      res.end();
    } else sendJson(res, answer.status, answer.json);
  } catch (error) {
    if (!(error instanceof SalesforceApiError)) throw error;
    entry.status = error.status;
    sendJson(res, error.status, error.body());
  }
}

type Answer = { status: number; json?: unknown; csv?: string; headers?: Record<string, string> };

function route(
  state: EmulatorState,
  method: string,
  version: string,
  rest: string,
  url: URL,
  req: IncomingMessage,
  body: string,
): Answer {
  const parts = rest.replace(/\/$/, '').split('/');
  const batchHeader = req.headers['sforce-query-options'];
  const batchSize = Array.isArray(batchHeader) ? batchHeader[0] : batchHeader;
  const [head, second, third, fourth] = parts;

  if (method === 'GET' && (head === 'query' || head === 'queryAll')) {
    if (second) return { status: 200, json: continueQuery(state, version, second) };
    return { status: 200, json: startQuery(state, version, url, head === 'queryAll', batchSize) };
  }
  if (method === 'GET' && head === 'sobjects' && second && third === 'describe' && !fourth) {
    return { status: 200, json: describe(state, version, second) };
  }
  if (method === 'GET' && head === 'sobjects' && second && third === 'deleted' && !fourth) {
    return { status: 200, json: deleted(state, second, url) };
  }
  if (head === 'jobs' && second === 'query') {
    if (method === 'POST' && !third)
      return { status: 200, json: createJob(state, version, parseJson(body)) };
    if (method === 'GET' && third && fourth === 'results')
      return { status: 200, ...csvAnswer(state, third, url) };
    if (method === 'GET' && third && !fourth)
      return { status: 200, json: checkJob(state, version, third) };
    if (method === 'PATCH' && third)
      return { status: 200, json: abortJob(state, version, third, parseJson(body)) };
    if (method === 'DELETE' && third) {
      deleteJob(state, third);
      return { status: 204 };
    }
  }
  throw new SalesforceApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
}

function csvAnswer(state: EmulatorState, id: string, url: URL) {
  const { csv, headers } = jobResults(state, id, url);
  return { csv, headers };
}

function authenticate(req: IncomingMessage, state: EmulatorState): void {
  const header = req.headers.authorization ?? '';
  const token = /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(header)?.[1];
  if (!token || !state.sessions.has(token)) {
    throw new SalesforceApiError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
  }
}

function injectFailure(state: EmulatorState, path: string): void {
  const failure = state.failures.find(
    (f) => f.remaining > 0 && (f.pathIncludes === undefined || path.includes(f.pathIncludes)),
  );
  if (!failure) return;
  failure.remaining--;
  if (failure.errorCode === 'INVALID_SESSION_ID') state.sessions.clear();
  throw new SalesforceApiError(failure.status, failure.errorCode, failure.message);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new SalesforceApiError(400, 'JSON_PARSER_ERROR', 'The request body is not valid JSON');
  }
}

/** Salesforce's REST datetime format, for tests that build expected records. */
export { restDateTime };
