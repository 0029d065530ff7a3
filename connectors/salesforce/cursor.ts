/** The Salesforce reader's cursor: JSON text saved with every page. */
import { BadInputError } from '../errors';
import { parseInstant } from './instant';

/**
 * Where a read resumes. `since` is the highest cursor-field value delivered (UTC ISO with Z) and
 * `boundaryIds` the Ids already delivered at exactly that value: the next query asks for
 * `>= since` and drops those Ids, so the boundary is neither lost nor counted twice.
 */
export interface SalesforceCursor {
  v: 1;
  since: string | null;
  boundaryIds: string[];
  /** Start of the next getDeleted window (Salesforce's own latestDateCovered once known). */
  deletedSince: string | null;
  /** A Bulk API 2.0 first load in progress: its job and the next result locator. */
  bulk?: { jobId: string; locator: string | null };
}

/**
 * Reads a saved cursor. Besides this reader's JSON, a bare datetime (`2026-03-01T09:15:00+01:00`,
 * as JSON string or plain text) is accepted as a starting point, so a watermark can be set by
 * hand; any zone is normalised to UTC.
 */
export function decodeCursor(text: string | null, source: string): SalesforceCursor | null {
  if (text === null || text.trim() === '') return null;
  let value: unknown = text;
  try {
    value = JSON.parse(text);
  } catch {
    // Not JSON: a bare datetime, checked below.
  }
  if (typeof value === 'string')
    return { v: 1, since: utc(value, source), boundaryIds: [], deletedSince: null };
  const c = value as Partial<SalesforceCursor> | null;
  if (!c || c.v !== 1 || !Array.isArray(c.boundaryIds)) {
    throw new BadInputError(
      `Salesforce source "${source}": saved cursor is not one this reader wrote`,
    );
  }
  return {
    v: 1,
    since: c.since == null ? null : utc(c.since, source),
    boundaryIds: c.boundaryIds.map(String),
    deletedSince: c.deletedSince == null ? null : utc(c.deletedSince, source),
    ...(c.bulk ? { bulk: { jobId: String(c.bulk.jobId), locator: c.bulk.locator ?? null } } : {}),
  };
}

export function encodeCursor(cursor: SalesforceCursor): string {
  return JSON.stringify(cursor);
}

function utc(text: string, source: string): string {
  const ms = parseInstant(text);
  if (ms === null) {
    throw new BadInputError(
      `Salesforce source "${source}": saved cursor has a bad datetime "${text}"`,
    );
  }
  return new Date(ms).toISOString();
}

/**
 * Tracks the highest cursor value seen and the Ids at it, and says which records are new.
 * Works for ordered REST pages and for unordered Bulk API results alike.
 */
export class Watermark {
  private sinceMs: number | null;
  private ids: Set<string>;

  constructor(since: string | null, boundaryIds: string[]) {
    this.sinceMs = since === null ? null : Date.parse(since);
    this.ids = new Set(boundaryIds);
  }

  /** Records a delivered value; false when this Id was already delivered at this exact value. */
  accept(id: string, valueMs: number): boolean {
    if (this.sinceMs === null || valueMs > this.sinceMs) {
      this.sinceMs = valueMs;
      this.ids = new Set([id]);
      return true;
    }
    if (valueMs < this.sinceMs) return true;
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    return true;
  }

  get since(): string | null {
    return this.sinceMs === null ? null : new Date(this.sinceMs).toISOString();
  }

  get boundaryIds(): string[] {
    return [...this.ids];
  }
}
