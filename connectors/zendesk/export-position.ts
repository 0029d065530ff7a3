import { ConfigError, UpstreamError } from '../errors';
import type { ZendeskObject } from './types';

/**
 * Where an export stands, saved as the page cursor. Users and tickets use Zendesk's cursor-based
 * export: `start` before the first page, then `cursor` with the `after_cursor` of the last page
 * read. Organizations only have the time-based export, which restarts at the last page's
 * `end_time` and repeats that second's records, so `seenIds` lists the records of that second
 * already delivered.
 */
export type ExportPosition =
  | { kind: 'start'; startTime: number }
  | { kind: 'cursor'; afterCursor: string }
  | { kind: 'time'; startTime: number; seenIds: string[] };

/** One export answer, read: its raw records and where the next page starts. */
export type ExportPage = { items: unknown[]; next: ExportPosition; endOfStream: boolean };

/** Objects Zendesk offers a cursor-based incremental export for. */
const CURSOR_OBJECTS: ReadonlySet<ZendeskObject> = new Set(['users', 'tickets']);

/** The position a first read (no saved cursor) starts from. */
export function initialPosition(object: ZendeskObject, startTime: number): ExportPosition {
  return CURSOR_OBJECTS.has(object)
    ? { kind: 'start', startTime }
    : { kind: 'time', startTime, seenIds: [] };
}

/** The page cursor text for a position: JSON naming the object, so a mix-up is caught. */
export function formatCursor(object: ZendeskObject, position: ExportPosition): string {
  return JSON.stringify({ object, ...position });
}

/** Reads a saved page cursor back; ConfigError when it is not one of this source's cursors. */
export function parseCursor(text: string, object: ZendeskObject, source: string): ExportPosition {
  const bad = (why: string) =>
    new ConfigError(`Zendesk source "${source}": saved cursor ${why}; reset the source's cursor`);
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`Zendesk source "${source}": saved cursor is not JSON`, err);
  }
  if (typeof value !== 'object' || value === null) throw bad('is not an object');
  if (value.object !== object) throw bad(`belongs to ${String(value.object)}, not ${object}`);
  const cursorObject = CURSOR_OBJECTS.has(object);
  if (cursorObject && value.kind === 'cursor' && typeof value.afterCursor === 'string') {
    return { kind: 'cursor', afterCursor: value.afterCursor };
  }
  if (cursorObject && value.kind === 'start' && Number.isInteger(value.startTime)) {
    return { kind: 'start', startTime: value.startTime as number };
  }
  const ids = value.seenIds;
  const idsOk = Array.isArray(ids) && ids.every((id) => typeof id === 'string');
  if (!cursorObject && value.kind === 'time' && Number.isInteger(value.startTime) && idsOk) {
    return { kind: 'time', startTime: value.startTime as number, seenIds: ids as string[] };
  }
  throw bad('has an unknown shape');
}

/** The export URL for a position, under the API root (`.../api/v2`). */
export function exportUrl(
  apiBase: string,
  object: ZendeskObject,
  position: ExportPosition,
  pageSize: number | undefined,
): string {
  const perPage = pageSize === undefined ? '' : `&per_page=${pageSize}`;
  switch (position.kind) {
    case 'start': {
      const start = position.startTime;
      return `${apiBase}/incremental/${object}/cursor.json?start_time=${start}${perPage}`;
    }
    case 'cursor': {
      const cursor = encodeURIComponent(position.afterCursor);
      return `${apiBase}/incremental/${object}/cursor.json?cursor=${cursor}${perPage}`;
    }
    case 'time':
      return `${apiBase}/incremental/${object}.json?start_time=${position.startTime}${perPage}`;
  }
}

/**
 * Reads an export answer. Cursor exports continue from `after_cursor`, which stays valid after
 * `end_of_stream` for the next run. Time exports continue from `end_time` (or the `start_time`
 * of `next_page` when `end_time` is missing).
 */
export function readExportPage(
  object: ZendeskObject,
  body: unknown,
  position: ExportPosition,
  source: string,
): ExportPage {
  const bad = (why: string) =>
    new UpstreamError(`Zendesk source "${source}": ${object} export answer ${why}`, undefined);
  const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const items = fields[object];
  if (!Array.isArray(items)) throw bad(`has no ${object} array`);

  if (position.kind !== 'time') {
    const after = fields.after_cursor;
    if (typeof after !== 'string' || after === '') throw bad('has no after_cursor');
    const endOfStream = fields.end_of_stream === true;
    return { items, next: { kind: 'cursor', afterCursor: after }, endOfStream };
  }

  const endTime =
    typeof fields.end_time === 'number' ? fields.end_time : startTimeOf(fields.next_page);
  if (endTime === undefined) throw bad('has neither end_time nor next_page');
  const endOfStream =
    typeof fields.end_of_stream === 'boolean'
      ? fields.end_of_stream
      : fields.next_page === null || fields.next_page === undefined;
  if (!endOfStream && endTime <= position.startTime) {
    // The next request would be this one again; Zendesk never does this, but a loop must not.
    throw bad(`did not move past start_time ${position.startTime}`);
  }
  const seenIds = idsUpdatedInSecond(items, endTime);
  return { items, next: { kind: 'time', startTime: endTime, seenIds }, endOfStream };
}

/**
 * Drops the records a time export repeats at the start of a page: those of the boundary second
 * already delivered. A record updated again since has a later `updated_at` and is kept.
 */
export function dropRepeated(items: unknown[], position: ExportPosition): unknown[] {
  if (position.kind !== 'time' || position.seenIds.length === 0) return items;
  const seen = new Set(position.seenIds);
  return items.filter((item) => {
    const { id, second } = idAndSecond(item);
    return !(id !== undefined && seen.has(id) && second === position.startTime);
  });
}

function idsUpdatedInSecond(items: unknown[], second: number): string[] {
  const ids: string[] = [];
  for (const item of items) {
    const found = idAndSecond(item);
    if (found.id !== undefined && found.second === second) ids.push(found.id);
  }
  return ids;
}

function idAndSecond(item: unknown): { id: string | undefined; second: number | undefined } {
  const fields = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
  const rawId = fields.id;
  const id = typeof rawId === 'number' || typeof rawId === 'string' ? String(rawId) : undefined;
  const ms = typeof fields.updated_at === 'string' ? Date.parse(fields.updated_at) : NaN;
  return { id, second: Number.isNaN(ms) ? undefined : Math.floor(ms / 1000) };
}

function startTimeOf(nextPage: unknown): number | undefined {
  if (typeof nextPage !== 'string') return undefined;
  const match = /[?&]start_time=(\d+)/.exec(nextPage);
  return match ? Number(match[1]) : undefined;
}
