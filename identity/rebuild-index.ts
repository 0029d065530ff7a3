import type { Knex } from 'knex';
import type { DatasetConfig } from '../config/schema';
import { ValueHolders } from '../domain/identity/value-holders';
import { UnionFind } from '../domain/union-find';
import { entryAt, type PageEntries, type RawRecord } from './record-work';
import { recordThreads, type RecordWorker } from './record-worker';
import * as store from '../store/identity';
import { indexOfId } from './groups';

/** Records read and indexed per page. */
const PAGE_RECORDS = 5000;
/** Pages read and handed to the record worker ahead of the one being written. */
const PAGES_AHEAD = 3;
/** Index rows per page of the walk over the index, when values did not fit in memory. */
const SCAN_PAGE = 20000;
/** Default memory for the values seen during a rebuild (BRAID_IDENTITY_MEMORY_MB overrides). */
const DEFAULT_VALUE_MEMORY_MB = 128;
/** Unifies of fewer records do their per-record work inline: a thread takes longer to start. */
const THREAD_FROM = 20_000;

export type Heartbeat = (progress: { phase: string; done: number }) => void;

/** What a full rebuild of the key index found. */
export interface RebuiltIndex {
  /** Every live record's id, ascending. */
  affected: Int32Array;
  /** Raw components: records that share an index value, by index into `affected`. */
  components: UnionFind;
  /** `memory` when records were joined as they were read; `index` after a walk of the index. */
  joinedIn: 'memory' | 'index';
}

/** How a rebuild may use memory and threads; by default from the environment. */
export interface RebuildOptions {
  /** Bytes for joining records as they are read (see {@link valueMemoryBytes}). */
  valueMemoryBytes?: number;
  /** Record threads, 0 or 1 (see identity/record-worker.ts recordThreads). */
  threads?: number;
  /** Records per page of the first pass (default {@link PAGE_RECORDS}); small in tests. */
  pageRecords?: number;
}

/**
 * Record threads for a unify that works on `records` records: as given, else one when there
 * is a second core and enough records for a thread to pay off.
 */
export function threadsFor(records: number, options: RebuildOptions): number {
  if (options.threads !== undefined) return options.threads;
  const threads = recordThreads();
  return records < THREAD_FROM ? 0 : threads;
}

/**
 * A page's entries from the record worker as index rows of its records, in order; `each` sees
 * every row with its record's position in the page.
 */
export function keyRowsOf(
  records: ReadonlyArray<{ id: number }>,
  entries: PageEntries,
  each?: (position: number, row: store.KeyRow) => void,
): store.KeyRow[] {
  const rows: store.KeyRow[] = [];
  let at = 0;
  records.forEach((record, k) => {
    for (const end = at + entries.counts[k]!; at < end; at++) {
      const { key, value, kind } = entryAt(entries, at);
      const row = { recordId: record.id, key, value, kind };
      rows.push(row);
      each?.(k, row);
    }
  });
  return rows;
}

/** Bytes a rebuild may spend on the values it has seen: BRAID_IDENTITY_MEMORY_MB, or 128 MiB. */
export function valueMemoryBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.BRAID_IDENTITY_MEMORY_MB;
  const mb = raw === undefined || raw === '' ? DEFAULT_VALUE_MEMORY_MB : Number(raw);
  if (!Number.isFinite(mb) || mb < 0) {
    throw new Error(
      `BRAID_IDENTITY_MEMORY_MB must be a number of megabytes, not ${JSON.stringify(raw)}`,
    );
  }
  return Math.floor(mb * 1024 * 1024);
}

/**
 * Rebuilds the key index of every live record of the dataset and finds its raw components.
 * Each record is read once, in id order, a page at a time, and normalized by `worker`
 * (identity/record-worker.ts): with a thread, the next page is read and normalized while this
 * one's index rows are written. Records sharing a value are joined as they are read while
 * the values seen fit in `memoryBytes` (domain/identity/value-holders.ts); past that, the index
 * is walked in value order once it is built, which needs no memory per value but costs a
 * sorted read of every index row.
 */
export async function rebuildIndex(
  trx: Knex.Transaction,
  name: string,
  dataset: DatasetConfig,
  worker: RecordWorker,
  beat: Heartbeat,
  memory: { bytes: number; liveRecords: number; pageRecords?: number },
): Promise<RebuiltIndex> {
  const { bytes: memoryBytes, liveRecords, pageRecords = PAGE_RECORDS } = memory;
  const target = await store.beginKeyRebuild(trx, name, liveRecords);
  // The edges take at most a quarter of the budget: there is one per value seen again.
  const holders = new ValueHolders(Math.floor((memoryBytes * 3) / 4));
  const edges = new IntPairs(Math.floor(memoryBytes / 4));
  const ids = new IntList();
  const read = (after: number) =>
    store.pageLiveRawRecords(trx, dataset.sources, after, pageRecords);

  // Pages go to the worker before the rows of those before them are written; with the record
  // thread holding two, the next is normalized here (see identity/record-worker.ts).
  const ahead: Array<{ page: RawRecord[]; entries: Promise<PageEntries> }> = [];
  let after = 0;
  let more = true;
  for (;;) {
    while (more && ahead.length < PAGES_AHEAD) {
      const page = await read(after);
      more = page.length > 0;
      if (!more) break;
      after = page[page.length - 1]!.id;
      ahead.push({ page, entries: worker.normalize(page) });
    }
    const next = ahead.shift();
    if (!next) break;
    const first = ids.length;
    for (const record of next.page) ids.push(record.id);
    const rows = keyRowsOf(next.page, await next.entries, (k, row) => {
      const holder = edges.full ? -1 : holders.holderOf(row.key, row.value, first + k);
      if (holder >= 0) edges.push(holder, first + k);
    });
    await store.insertKeys(trx, name, rows, target.into);
    beat({ phase: 'indexing', done: ids.length });
  }
  const affected = ids.toArray();
  const inMemory = !holders.overflowed && !edges.full;
  const joined = inMemory ? new UnionFind(affected.length) : undefined;
  if (joined) edges.forEach((a, b) => joined.union(a, b));
  // Building the index is the run's peak (SQLite's sorter, PostgreSQL's server aside): the
  // table of values, 48 MiB at 1M records, is done with by then.
  holders.release();
  edges.release();
  await target.finish();
  if (joined) return { affected, components: joined, joinedIn: 'memory' };
  const components = await componentsByScan(trx, name, affected);
  return { affected, components, joinedIn: 'index' };
}

/**
 * Connected components of the affected records over shared index values, found by walking the
 * index in value order: memory holds one page of index rows and a few integers per record.
 */
export async function componentsByScan(
  trx: Knex.Transaction,
  name: string,
  affected: Int32Array,
): Promise<UnionFind> {
  const sets = new UnionFind(affected.length);
  let after: { key: string; value: string; recordId: number } | null = null;
  let runKey = '';
  let runValue = '';
  let runFirst = -1;
  for (;;) {
    const page = await store.scanKeys(trx, name, after, SCAN_PAGE);
    if (page.length === 0) break;
    for (const row of page) {
      const index = indexOfId(affected, row.recordId);
      if (index < 0) continue;
      if (runFirst >= 0 && row.key === runKey && row.value === runValue)
        sets.union(runFirst, index);
      else [runKey, runValue, runFirst] = [row.key, row.value, index];
    }
    const last = page[page.length - 1]!;
    after = { key: last.key, value: last.value, recordId: last.recordId };
  }
  return sets;
}

/** A growing list of integers. */
class IntList {
  private items = new Int32Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.items.length) {
      const grown = new Int32Array(this.items.length * 2);
      grown.set(this.items);
      this.items = grown;
    }
    this.items[this.length++] = value;
  }

  toArray(): Int32Array {
    return this.items.slice(0, this.length);
  }
}

/** A growing list of integer pairs within a byte budget; `full` once it would pass it. */
class IntPairs {
  private items = new Int32Array(2048);
  private length = 0;
  full = false;

  constructor(private readonly maxBytes: number) {}

  push(a: number, b: number): void {
    if (this.full) return;
    if (this.length + 2 > this.items.length) {
      const bytes = this.items.length * 2 * 4;
      // Both arrays live while the items move.
      if (bytes + bytes / 2 > this.maxBytes) {
        this.full = true;
        this.items = new Int32Array(0);
        return;
      }
      const grown = new Int32Array(this.items.length * 2);
      grown.set(this.items);
      this.items = grown;
    }
    this.items[this.length++] = a;
    this.items[this.length++] = b;
  }

  forEach(visit: (a: number, b: number) => void): void {
    for (let i = 0; i < this.length; i += 2) visit(this.items[i]!, this.items[i + 1]!);
  }

  /** Lets the pairs go; the list is empty afterwards. */
  release(): void {
    this.items = new Int32Array(0);
    this.length = 0;
  }
}
