import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DatasetConfig } from '../config/schema';
import { BadInputError, ConfigError } from '../connectors/errors';
import {
  compileRecordWork,
  type BatchClusters,
  type BatchInput,
  type PageEntries,
  type RawRecord,
  type RecordWork,
} from './record-work';

/** What a record thread is started with. */
export interface ThreadData {
  dataset: DatasetConfig;
  name: string;
  joinSample: number;
}

export type ThreadRequest =
  | { seq: number; kind: 'page'; ids: number[]; sources: string[]; payloads: string[] }
  | { seq: number; kind: 'batch'; batch: BatchInput };

export type ThreadReply =
  | { seq: number; result: PageEntries | BatchClusters; error?: undefined }
  | { seq: number; result?: undefined; error: { name: string; message: string } };

/**
 * Runs a unify's per-record work (identity/record-work.ts) in a thread of its own when there is
 * one. Parsing payloads, normalizing keys, clustering and survivorship are most of a rebuild's
 * work; in a thread they run while the unify's own thread reads the next page or batch and
 * writes the last one. Requests may be queued before earlier ones settle; each gets its own
 * result. When the thread already holds {@link SHARE_FROM} requests, the next is done at once
 * in the calling thread instead: a rebuild's first pass gave the record thread twice the work
 * of the unify's own, which waited on it for half the pass.
 */
export interface RecordWorker {
  normalize(records: readonly RawRecord[]): Promise<PageEntries>;
  cluster(batch: BatchInput): Promise<BatchClusters>;
  /** `thread` when the work goes to a record thread, `inline` when it is done in this one. */
  readonly where: 'thread' | 'inline';
  /** With a thread: the requests this thread did itself, the thread being busy enough. */
  readonly doneHere: number;
  /** Stops the thread; requests still queued are rejected (nobody need be waiting for them). */
  close(): Promise<void>;
}

/** Requests queued in the record thread from which the caller's thread does the next itself. */
const SHARE_FROM = 2;

/** Record threads a rebuild starts: BRAID_IDENTITY_THREADS, or 1 when there are 2 cores. */
export function recordThreads(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.BRAID_IDENTITY_THREADS;
  if (raw === undefined || raw === '') return os.availableParallelism() > 1 ? 1 : 0;
  if (raw !== '0' && raw !== '1') {
    throw new Error(`BRAID_IDENTITY_THREADS must be 0 or 1, not ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

/**
 * The per-record work of one run over the dataset: in a thread when `threads` is 1 and the
 * compiled thread script is found, otherwise inline.
 */
export function startRecordWorker(data: ThreadData, threads: number): RecordWorker {
  const script = threads > 0 ? threadScript() : null;
  if (script === null) {
    const work = compileRecordWork(data.dataset, data.name, data.joinSample);
    return {
      where: 'inline',
      doneHere: 0,
      normalize: (records) => settled(() => normalizeWith(work, records)),
      cluster: (batch) => settled(() => work.cluster(batch)),
      close: async () => undefined,
    };
  }
  return threadWorker(script, data);
}

function normalizeWith(work: RecordWork, records: readonly RawRecord[]): PageEntries {
  return work.normalize(
    records.map((r) => r.id),
    records.map((r) => r.source),
    records.map((r) => r.payload),
  );
}

/** Final errors keep their class across threads: activities/failure.ts decides retries by it. */
const FINAL_ERRORS: Record<string, new (message: string) => Error> = { ConfigError, BadInputError };

function rebuiltError({ name, message }: { name: string; message: string }): Error {
  const Final = FINAL_ERRORS[name];
  return Final ? new Final(message) : Object.assign(new Error(message), { name });
}

/**
 * The result of `work` as a promise. Callers ask for the next page or batch before awaiting the
 * one before; when that one fails they never await the next, whose failure must then not
 * surface as an unhandled rejection (which ends the process). Whoever awaits it still sees it.
 */
function settled<T>(work: () => T): Promise<T> {
  const result = new Promise<T>((resolve) => resolve(work()));
  result.catch(() => undefined);
  return result;
}

function threadWorker(script: string, data: ThreadData): RecordWorker {
  const worker = new Worker(script, { workerData: data });
  const pending = new Map<number, { resolve(result: unknown): void; reject(error: Error): void }>();
  let seq = 0;
  let failure: Error | null = null;
  let closed = false;
  const failAll = (error: Error) => {
    failure ??= error;
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  };
  worker.on('message', (reply: ThreadReply) => {
    const waiter = pending.get(reply.seq);
    if (!waiter) return;
    pending.delete(reply.seq);
    if (reply.result) waiter.resolve(reply.result);
    else waiter.reject(rebuiltError(reply.error));
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => {
    if (!closed) failAll(new Error(`the record thread stopped unexpectedly (exit code ${code})`));
  });
  // The same work for this thread to take a share, compiled the first time it does.
  let here: RecordWork | undefined;
  let doneHere = 0;
  const shared = () => {
    doneHere += 1;
    return (here ??= compileRecordWork(data.dataset, data.name, data.joinSample));
  };
  const busy = () => failure === null && pending.size >= SHARE_FROM;
  const ask = <T>(request: ThreadRequest): Promise<T> => {
    if (failure) return Promise.reject(failure);
    const result = new Promise<T>((resolve, reject) => {
      pending.set(request.seq, { resolve: resolve as (result: unknown) => void, reject });
    });
    // As for settled(): a request queued ahead may never be awaited.
    result.catch(() => undefined);
    worker.postMessage(request);
    return result;
  };
  return {
    where: 'thread',
    get doneHere() {
      return doneHere;
    },
    normalize: (records) =>
      busy()
        ? settled(() => normalizeWith(shared(), records))
        : ask({
            seq: seq++,
            kind: 'page',
            ids: records.map((r) => r.id),
            sources: records.map((r) => r.source),
            payloads: records.map((r) => r.payload),
          }),
    cluster: (batch) =>
      busy() ? settled(() => shared().cluster(batch)) : ask({ seq: seq++, kind: 'batch', batch }),
    async close() {
      closed = true;
      failAll(new Error('the record thread was closed before this request was done'));
      await worker.terminate();
    },
  };
}

/**
 * The compiled thread script beside this module; under ts-jest, which runs the TypeScript
 * sources, the one `npm test` has just compiled into dist/. Null when there is none.
 */
function threadScript(): string | null {
  const candidates = [
    path.join(__dirname, 'record-thread.js'),
    path.resolve(__dirname, '..', 'dist', 'identity', 'record-thread.js'),
  ];
  return candidates.find((file) => existsSync(file)) ?? null;
}
