import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { RecordStore, ZendeskObject, ZendeskRecord } from './store';

/** Zendesk's per_page ceiling and default for incremental exports. */
export const EXPORT_PAGE_SIZE = 1000;

/** A chosen answer for one request, sent before authentication or routing. */
export type ScriptedAnswer = {
  status: number;
  /** Sent as the `Retry-After` header, in seconds. */
  retryAfterSeconds?: number;
  /** JSON body; by default the body Zendesk sends with that status. */
  body?: unknown;
};

/** What the routes need from the running emulator. */
export type RouteState = {
  store: RecordStore;
  /** `Basic` credentials accepted, as the `email/token:apitoken` text before base64. */
  basicCredentials: Set<string>;
  bearerTokens: Set<string>;
  baseUrl: () => string;
};

type Answer = { status: number; body: unknown; headers?: Record<string, string> };

const CURSOR_EXPORTS: Record<string, ZendeskObject> = {
  '/api/v2/incremental/users/cursor.json': 'users',
  '/api/v2/incremental/tickets/cursor.json': 'tickets',
};
const TIME_EXPORTS: Record<string, ZendeskObject> = {
  '/api/v2/incremental/organizations.json': 'organizations',
  '/api/v2/incremental/users.json': 'users',
  '/api/v2/incremental/tickets.json': 'tickets',
};

/** Zendesk's bodies for the statuses the emulator sends on its own or by script. */
export function defaultBody(status: number): unknown {
  switch (status) {
    case 401:
      return { error: "Couldn't authenticate you" };
    case 403:
      return { error: 'Forbidden', description: 'You do not have access to this page.' };
    case 404:
      return { error: 'InvalidEndpoint', description: 'Not found' };
    case 429:
      return {
        error: 'APIRateLimitExceeded',
        description: 'Number of allowed incremental export API requests per minute exceeded',
      };
    case 503:
      return { error: 'ServiceUnavailable', description: 'Service temporarily unavailable' };
    default:
      return { error: STATUS_CODES[status] ?? 'Error' };
  }
}

/** Writes a scripted answer. */
export function sendScripted(res: ServerResponse, answer: ScriptedAnswer): void {
  const headers: Record<string, string> = {};
  if (answer.retryAfterSeconds !== undefined) {
    headers['retry-after'] = String(answer.retryAfterSeconds);
  }
  send(res, { status: answer.status, body: answer.body ?? defaultBody(answer.status), headers });
}

/** Authenticates and answers one request; returns the status sent. */
export function answerRequest(
  req: IncomingMessage,
  res: ServerResponse,
  state: RouteState,
): number {
  const url = new URL(req.url ?? '/', 'http://emulator');
  const answer = authenticate(req, state) ?? route(req.method ?? 'GET', url, state);
  send(res, answer);
  return answer.status;
}

function authenticate(req: IncomingMessage, state: RouteState): Answer | undefined {
  const header = req.headers.authorization ?? '';
  const basic = /^Basic\s+(\S+)$/i.exec(header);
  if (basic) {
    const text = Buffer.from(basic[1]!, 'base64').toString('utf8');
    if (state.basicCredentials.has(text)) return undefined;
    return { status: 401, body: defaultBody(401) };
  }
  const bearer = /^Bearer\s+(\S+)$/i.exec(header);
  if (bearer && state.bearerTokens.has(bearer[1]!)) return undefined;
  if (bearer) {
    const body = {
      error: 'invalid_token',
      error_description:
        'The access token provided is expired, revoked, malformed or invalid for other reasons.',
    };
    return { status: 401, body };
  }
  return { status: 401, body: defaultBody(401) };
}

function route(method: string, url: URL, state: RouteState): Answer {
  const cursorObject = CURSOR_EXPORTS[url.pathname];
  const timeObject = TIME_EXPORTS[url.pathname];
  if (method !== 'GET' || (cursorObject === undefined && timeObject === undefined)) {
    return { status: 404, body: defaultBody(404) };
  }
  const size = pageSize(url.searchParams.get('per_page'));
  if (size === undefined) return invalid('per_page must be an integer from 1 to 1000');
  if (cursorObject !== undefined) return cursorExport(cursorObject, url, size, state);
  return timeExport(timeObject!, url, size, state);
}

/** `/incremental/<object>/cursor.json`: start with `start_time`, continue with `cursor`. */
function cursorExport(object: ZendeskObject, url: URL, size: number, state: RouteState): Answer {
  const token = url.searchParams.get('cursor');
  let slice;
  if (token !== null) {
    const at = state.store.positionOf(object, token);
    if (at === undefined) return invalid('cursor is invalid', 'InvalidPaginationParameter');
    slice = state.store.after(object, at, size);
  } else {
    const start = startTime(url);
    if (start === undefined) return invalid('start_time or cursor is required');
    slice = state.store.fromStartTime(object, start, size);
  }
  const afterCursor = state.store.tokenFor(object, slice.last);
  const afterUrl = `${state.baseUrl()}${url.pathname}?cursor=${afterCursor}`;
  const body = {
    [object]: slice.records.map(publicShape(object, state.baseUrl())),
    after_url: afterUrl,
    after_cursor: afterCursor,
    before_url: null,
    before_cursor: null,
    end_of_stream: !slice.more,
  };
  return { status: 200, body };
}

/** `/incremental/<object>.json?start_time=`: the next page starts at `end_time`. */
function timeExport(object: ZendeskObject, url: URL, size: number, state: RouteState): Answer {
  const start = startTime(url);
  if (start === undefined) return invalid('start_time is required');
  const slice = state.store.timePage(object, start, size);
  const endTime = Math.floor(slice.last.updatedMs / 1000);
  const body = {
    [object]: slice.records.map(publicShape(object, state.baseUrl())),
    count: slice.records.length,
    end_of_stream: !slice.more,
    end_time: endTime,
    next_page: `${state.baseUrl()}${url.pathname}?start_time=${endTime}`,
  };
  return { status: 200, body };
}

/** Records carry their API URL, as Zendesk's do, unless the test data gave one. */
function publicShape(object: ZendeskObject, base: string): (r: ZendeskRecord) => ZendeskRecord {
  return (record) => ({ url: `${base}/api/v2/${object}/${record.id}.json`, ...record });
}

function startTime(url: URL): number | undefined {
  const raw = url.searchParams.get('start_time');
  if (raw === null || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

function pageSize(raw: string | null): number | undefined {
  if (raw === null) return EXPORT_PAGE_SIZE;
  const size = /^\d+$/.test(raw) ? Number(raw) : NaN;
  return size >= 1 && size <= EXPORT_PAGE_SIZE ? size : undefined;
}

function invalid(description: string, error = 'InvalidValue'): Answer {
  return { status: 400, body: { error, description } };
}

function send(res: ServerResponse, answer: Answer): void {
  if (res.writableEnded || res.destroyed) return;
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    ...answer.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}
