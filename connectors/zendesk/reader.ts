import { ConfigError } from '../errors';
import type { SourcePage, SourceReader } from '../source-reader';
import {
  dropRepeated,
  exportUrl,
  formatCursor,
  initialPosition,
  parseCursor,
  readExportPage,
  type ExportPosition,
} from './export-position';
import { ZendeskHttp } from './http';
import { MAX_PAGE_SIZE } from './limits';
import { toSourceRecords } from './records';
import {
  ZENDESK_OBJECTS,
  type ZendeskConnection,
  type ZendeskObject,
  type ZendeskRuntime,
} from './types';

/** Everything a Zendesk reader needs; secrets arrive resolved. */
export interface ZendeskReaderOptions extends ZendeskConnection, ZendeskRuntime {
  /** The source's name in the config, used in every error message. */
  source: string;
  object: ZendeskObject;
  /** Epoch seconds the first read starts from (Zendesk's `start_time`). */
  startTime: number;
  /** Flattened column identifying a record; default `id`. */
  recordKey?: string;
  /** Flattened column with the record's update time; default `updated_at`. */
  updatedAt?: string;
  /** `per_page` to ask for, 1 to 1,000; by default Zendesk's own (1,000). */
  pageSize?: number;
}

/**
 * Reads one Zendesk object through the incremental export API, one export page per SourcePage:
 * cursor-based for users and tickets, time-based for organizations. Each page's cursor resumes
 * right after it, so a restart neither loses nor repeats a record (time exports repeat the
 * boundary second; those records are dropped by id). The last page's cursor is where the next
 * run starts. A 429 or 5xx retries only the failed page after `Retry-After`, up to a cap.
 */
export class ZendeskReader implements SourceReader {
  private readonly opts: ZendeskReaderOptions;

  constructor(opts: ZendeskReaderOptions) {
    const where = `Zendesk source "${opts.source}"`;
    if (!ZENDESK_OBJECTS.includes(opts.object)) {
      throw new ConfigError(`${where}: unknown object ${String(opts.object)}`);
    }
    if (!Number.isInteger(opts.startTime) || opts.startTime < 0) {
      throw new ConfigError(`${where}: startTime must be whole epoch seconds`);
    }
    const size = opts.pageSize;
    if (size !== undefined && (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE)) {
      throw new ConfigError(`${where}: pageSize must be from 1 to ${MAX_PAGE_SIZE}`);
    }
    this.opts = opts;
  }

  async *pages(cursor: string | null, signal: AbortSignal): AsyncIterable<SourcePage> {
    const { object, source } = this.opts;
    const http = new ZendeskHttp(this.opts, signal);
    const fields = {
      recordKey: this.opts.recordKey ?? 'id',
      updatedAt: this.opts.updatedAt ?? 'updated_at',
    };
    let position: ExportPosition =
      cursor === null
        ? initialPosition(object, this.opts.startTime)
        : parseCursor(cursor, object, source);

    for (;;) {
      signal.throwIfAborted();
      const url = exportUrl(http.apiBase, object, position, this.opts.pageSize);
      const page = readExportPage(object, await http.getJson(url), position, source);
      const origin = `${object} ${new URL(url).search.slice(1)}`;
      const items = dropRepeated(page.items, position);
      const { records, rejects } = toSourceRecords(object, items, fields, origin);
      yield { records, rejects, cursor: formatCursor(object, page.next) };
      if (page.endOfStream) return;
      position = page.next;
    }
  }

  /** Nothing to release: requests use Node's shared fetch connection pool. */
  async close(): Promise<void> {}
}
