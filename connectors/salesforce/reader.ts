import { UpstreamError } from '../errors';
import type { SourcePage, SourceReader, SourceRecord, SourceReject } from '../source-reader';
import { BulkQueryClient } from './bulk-query';
import { decodeCursor, encodeCursor, Watermark, type SalesforceCursor } from './cursor';
import { parseInstant } from './instant';
import { BULK_POLL_INTERVAL_MS, DELETED_CLOCK_SKEW_MS } from './limits';
import { convertRow, deletedRecord, type RecordColumns } from './records';
import { queryPages } from './rest-query';
import { SalesforceSession, type SalesforceConnectionOptions } from './session';
import { bulkSoql, countSoql, incrementalSoql, selectedFields, type QuerySpec } from './soql';

/** What to read, besides where and how to connect. */
export interface SalesforceReaderOptions extends SalesforceConnectionOptions {
  /** sObject API name, e.g. `Contact`. */
  object: string;
  /** Fields to read; Id, the cursor field, the record key and updated-at are always added. */
  fields: string[];
  cursorField: 'SystemModstamp' | 'LastModifiedDate';
  /** Extra SOQL filter, ANDed in parentheses. */
  where?: string;
  /** REST page size asked with `Sforce-Query-Options` (200 to 2,000). */
  pageSize: number;
  /** A first load with more records than this uses a Bulk API 2.0 query job. */
  bulkThreshold: number;
  /** Records per Bulk API result page. */
  bulkPageSize: number;
  /** Column giving `updatedAtMs`; the cursor field by default. */
  updatedAt?: string;
  recordKey: string;
  /** How often a Bulk job's status is checked; default BULK_POLL_INTERVAL_MS. */
  bulkPollIntervalMs?: number;
  /** The worker clock, for the first getDeleted window; default Date.now. */
  now?: () => number;
}

// While a Bulk job runs, an empty page every this many checks lets the activity heartbeat.
const POLLS_PER_HEARTBEAT_PAGE = 10;

/**
 * Reads one sObject incrementally on its cursor field (SystemModstamp or LastModifiedDate).
 * A first load above `bulkThreshold` runs as a Bulk API 2.0 query job read page by page; every
 * other read is a REST query ordered by the cursor and Id, followed to its last page. Each page
 * carries a cursor that resumes right after it. Runs after the first also report records deleted
 * since the last run (getDeleted) as `deleted: true`. Never retries: failures are typed errors.
 */
export class SalesforceReader implements SourceReader {
  private readonly session: SalesforceSession;
  private readonly spec: QuerySpec;
  private readonly columns: RecordColumns;
  private readonly bulk: BulkQueryClient;
  private readonly what: string;

  constructor(private readonly opts: SalesforceReaderOptions) {
    this.session = new SalesforceSession(opts);
    const updatedAt = opts.updatedAt ?? opts.cursorField;
    this.spec = {
      object: opts.object,
      fields: selectedFields(opts.fields, [opts.cursorField, opts.recordKey, updatedAt]),
      cursorField: opts.cursorField,
      where: opts.where,
    };
    this.columns = {
      object: opts.object,
      recordKey: opts.recordKey,
      cursorField: opts.cursorField,
      updatedAt,
    };
    this.what = `${opts.object} query`;
    this.bulk = new BulkQueryClient(this.session, `${opts.object} Bulk API query`);
  }

  async *pages(cursor: string | null, signal: AbortSignal): AsyncIterable<SourcePage> {
    const saved = decodeCursor(cursor, this.opts.source);
    await this.session.connect(signal);
    const now = this.opts.now ?? Date.now;
    let state: SalesforceCursor = saved ?? {
      v: 1,
      since: null,
      boundaryIds: [],
      deletedSince: new Date(now() - DELETED_CLOCK_SKEW_MS).toISOString(),
    };

    if (state.bulk) {
      state = yield* this.bulkRead(state, signal);
    } else if (state.since === null && (await this.count(signal)) > this.opts.bulkThreshold) {
      state = yield* this.bulkRead(state, signal);
    } else {
      state = yield* this.restRead(state, signal);
    }
    if (saved !== null) yield await this.deletedPage(state, now(), signal);
  }

  async close(): Promise<void> {
    // jsforce keeps no connection of its own open between requests; nothing to release.
  }

  private async count(signal: AbortSignal): Promise<number> {
    const url = `${this.session.dataPath}/query?q=${encodeURIComponent(countSoql(this.spec))}`;
    const { body } = await this.session.send<{ totalSize: number }>(
      { method: 'GET', url },
      this.what,
      signal,
    );
    return body.totalSize;
  }

  private async *restRead(state: SalesforceCursor, signal: AbortSignal) {
    const watermark = new Watermark(state.since, state.boundaryIds);
    const soql = incrementalSoql(this.spec, state.since);
    let next = state;
    for await (const page of queryPages(
      this.session,
      soql,
      this.opts.pageSize,
      this.what,
      signal,
    )) {
      const { records, rejects } = this.convert(page.rows, watermark);
      next = { ...state, since: watermark.since, boundaryIds: watermark.boundaryIds };
      yield { records, rejects, cursor: encodeCursor(next) };
    }
    return next;
  }

  /**
   * A first load as a Bulk API 2.0 job. The job id is saved in the first (empty) page's cursor
   * and each result locator in the next, so a crash resumes the same job where it stopped; a job
   * that no longer exists starts the load again.
   */
  private async *bulkRead(
    start: SalesforceCursor,
    signal: AbortSignal,
  ): AsyncGenerator<SourcePage, SalesforceCursor> {
    let state = start;
    if (!state.bulk) {
      const jobId = await this.bulk.create(bulkSoql(this.spec), signal);
      state = { ...state, since: null, boundaryIds: [], bulk: { jobId, locator: null } };
      yield { records: [], rejects: [], cursor: encodeCursor(state) };
    }
    const { jobId } = state.bulk!;
    const ready = yield* this.waitForJob(state, signal);
    if (!ready) {
      const fresh: SalesforceCursor = { ...state, since: null, boundaryIds: [], bulk: undefined };
      return yield* this.bulkRead(fresh, signal);
    }

    const watermark = new Watermark(state.since, state.boundaryIds);
    let locator = state.bulk!.locator;
    for (;;) {
      const page = await this.bulk.results(jobId, locator, this.opts.bulkPageSize, signal);
      const { records, rejects } = this.convert(page.rows, watermark);
      locator = page.nextLocator;
      state = { ...state, since: watermark.since, boundaryIds: watermark.boundaryIds };
      state = locator ? { ...state, bulk: { jobId, locator } } : { ...state, bulk: undefined };
      yield { records, rejects, cursor: encodeCursor(state) };
      if (!locator) break;
    }
    await this.bulk.remove(jobId, signal);
    return state;
  }

  /** Polls until the job completes (true) or is gone (false); a failed job is an error. */
  private async *waitForJob(
    state: SalesforceCursor,
    signal: AbortSignal,
  ): AsyncGenerator<SourcePage, boolean> {
    const { jobId } = state.bulk!;
    for (let polls = 1; ; polls++) {
      let jobState: string;
      try {
        jobState = await this.bulk.state(jobId, signal);
      } catch (error) {
        if (error instanceof UpstreamError && error.status === 404) return false;
        throw error;
      }
      if (jobState === 'JobComplete') return true;
      if (jobState === 'Failed' || jobState === 'Aborted') {
        // Forget the job first, so that the retried attempt creates a new one.
        const fresh: SalesforceCursor = { ...state, since: null, boundaryIds: [], bulk: undefined };
        yield { records: [], rejects: [], cursor: encodeCursor(fresh) };
        throw new UpstreamError(
          this.session.label(`Bulk API job ${jobId} ended ${jobState}`),
          undefined,
        );
      }
      await sleep(this.opts.bulkPollIntervalMs ?? BULK_POLL_INTERVAL_MS, signal);
      if (polls % POLLS_PER_HEARTBEAT_PAGE === 0)
        yield { records: [], rejects: [], cursor: encodeCursor(state) };
    }
  }

  /**
   * Records deleted since the last window, from getDeleted. The next window starts at
   * Salesforce's `latestDateCovered`, so windows neither overlap nor leave gaps.
   */
  private async deletedPage(
    state: SalesforceCursor,
    nowMs: number,
    signal: AbortSignal,
  ): Promise<SourcePage> {
    const startMs = state.deletedSince
      ? Date.parse(state.deletedSince)
      : nowMs - DELETED_CLOCK_SKEW_MS;
    const start = encodeURIComponent(new Date(startMs).toISOString());
    const end = encodeURIComponent(new Date(Math.max(nowMs, startMs + 60_000)).toISOString());
    const path = `${this.session.dataPath}/sobjects/${this.opts.object}/deleted/`;
    const url = `${path}?start=${start}&end=${end}`;
    const { body } = await this.session.send<{
      deletedRecords: Array<{ id: string; deletedDate: string }>;
      latestDateCovered: string;
    }>({ method: 'GET', url }, `${this.opts.object} deleted records`, signal);

    const records = body.deletedRecords.map((d) =>
      deletedRecord(this.opts.object, d.id, d.deletedDate),
    );
    const covered = parseInstant(body.latestDateCovered);
    const deletedSince = covered === null ? state.deletedSince : new Date(covered).toISOString();
    return { records, rejects: [], cursor: encodeCursor({ ...state, deletedSince }) };
  }

  private convert(rows: Array<Record<string, unknown>>, watermark: Watermark) {
    const records: SourceRecord[] = [];
    const rejects: SourceReject[] = [];
    for (const row of rows) {
      const result = convertRow(row, this.columns);
      if (!result.ok) rejects.push(result.reject);
      else if (watermark.accept(result.record.values.Id ?? result.record.key, result.cursorMs)) {
        records.push(result.record);
      }
    }
    return { records, rejects };
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
