/**
 * The contract every pull source (Salesforce, Zendesk, SQL table, SFTP files) meets, so that one
 * extraction activity can stage any of them page by page, saving the cursor with each page.
 */

/** One record as a source delivers it, flattened to text columns. */
export interface SourceRecord {
  /** Identifies the record within its source (Salesforce Id, Zendesk id, table key...). */
  key: string;
  /**
   * Column → text value. Nested objects are flattened with dots (`address.city`), null becomes
   * an empty string, numbers and booleans their JSON text, arrays their JSON text.
   */
  values: Record<string, string>;
  /** The record's own last-update instant (epoch ms, UTC), when the source has one. */
  updatedAtMs: number | null;
  /** True when the source reports the record as deleted. */
  deleted?: boolean;
  /** Where it came from, for row errors and lineage: `Contact/003...`, `users page 3`. */
  origin: string;
}

/** A record the connector could read but not accept; the run goes on without it. */
export interface SourceReject {
  origin: string;
  recordKey?: string;
  field?: string;
  reason: string;
}

/**
 * A page of records plus the cursor that resumes *after* it. The extraction activity stages the
 * records and saves `cursor` in one transaction, then heartbeats; a crash resumes from the last
 * saved cursor, so a page may be read twice but never skipped.
 */
export interface SourcePage {
  records: SourceRecord[];
  rejects: SourceReject[];
  /** Opaque to the caller; JSON text the same reader understands on the next call. */
  cursor: string;
}

export interface SourceReader {
  /**
   * Reads everything changed since `cursor` (null: a first, full read), one page at a time.
   * Must stop promptly when `signal` aborts (activity cancelled or timed out).
   */
  pages(cursor: string | null, signal: AbortSignal): AsyncIterable<SourcePage>;
  /** Releases connections; called once, also after a failure. */
  close(): Promise<void>;
}

/** Declared field of a source, as `braid source describe` shows it for review. */
export interface DiscoveredField {
  name: string;
  /** Braid's type for it: string, email, phone, date, datetime, number, boolean. */
  type: string;
  /** The source's own type name (Salesforce `email`, SQL `timestamptz`...). */
  sourceType: string;
  nullable: boolean;
}

/**
 * Flattens a JSON object into text columns as `SourceRecord.values` expects: nested objects
 * use dotted names, null/undefined become '', arrays and other values their JSON text.
 */
export function flattenValues(input: Record<string, unknown>, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(input)) {
    const column = prefix ? `${prefix}.${name}` : name;
    if (value === null || value === undefined) out[column] = '';
    else if (typeof value === 'string') out[column] = value;
    else if (typeof value === 'object' && !Array.isArray(value)) {
      Object.assign(out, flattenValues(value as Record<string, unknown>, column));
    } else out[column] = JSON.stringify(value);
  }
  return out;
}
