import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DatasetConfig } from '../config/schema';
import { compileNormalizer, type PageEntries, type RawRecord } from './normalizer';

/** What a normalizer thread is started with. */
export interface ThreadData {
  dataset: DatasetConfig;
  name: string;
}

export interface PageRequest {
  seq: number;
  sources: string[];
  payloads: string[];
}

export type PageReply =
  | { seq: number; entries: PageEntries; error?: undefined }
  | { seq: number; entries?: undefined; error: string };

/**
 * Normalizes pages of records for a rebuild's first pass, in a thread of its own when there is
 * one: parsing payloads and normalizing keys (phone numbers above all) is most of that pass's
 * work, and it then runs while the unify's own thread reads the next page and writes the last
 * one's index rows. Pages may be queued before earlier ones settle; each settles with the
 * entries of its own records.
 */
export interface Normalizer {
  run(records: readonly RawRecord[]): Promise<PageEntries>;
  /** `thread` when pages go to a normalizer thread, `inline` when they are done in this one. */
  readonly where: 'thread' | 'inline';
  /** Stops the thread; pages still queued are rejected (nobody need be waiting for them). */
  close(): Promise<void>;
}

/** Normalizer threads a rebuild starts: BRAID_IDENTITY_THREADS, or 1 when there are 2 cores. */
export function normalizerThreads(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.BRAID_IDENTITY_THREADS;
  if (raw === undefined || raw === '') return os.availableParallelism() > 1 ? 1 : 0;
  if (raw !== '0' && raw !== '1') {
    throw new Error(`BRAID_IDENTITY_THREADS must be 0 or 1, not ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

/**
 * A normalizer for the dataset: threaded when `threads` is 1 and the compiled thread script is
 * found, otherwise inline.
 */
export function startNormalizer(dataset: DatasetConfig, name: string, threads: number): Normalizer {
  const script = threads > 0 ? threadScript() : null;
  if (script === null) {
    const normalize = compileNormalizer(dataset, name);
    return {
      where: 'inline',
      run: async (records) => normalize(records.map((r) => r.source), records.map((r) => r.payload)),
      close: async () => undefined,
    };
  }
  return threadNormalizer(script, { dataset, name });
}

function threadNormalizer(script: string, data: ThreadData): Normalizer {
  const worker = new Worker(script, { workerData: data });
  const pending = new Map<number, { resolve(entries: PageEntries): void; reject(error: Error): void }>();
  let seq = 0;
  let failure: Error | null = null;
  let closed = false;
  const failAll = (error: Error) => {
    failure ??= error;
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  };
  worker.on('message', (reply: PageReply) => {
    const waiter = pending.get(reply.seq);
    if (!waiter) return;
    pending.delete(reply.seq);
    if (reply.entries) waiter.resolve(reply.entries);
    else waiter.reject(new Error(reply.error));
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => {
    if (!closed) failAll(new Error(`the normalizer thread stopped unexpectedly (exit code ${code})`));
  });
  return {
    where: 'thread',
    run(records) {
      if (failure) return Promise.reject(failure);
      const request: PageRequest = {
        seq: seq++,
        sources: records.map((r) => r.source),
        payloads: records.map((r) => r.payload),
      };
      const result = new Promise<PageEntries>((resolve, reject) => {
        pending.set(request.seq, { resolve, reject });
      });
      // A page queued ahead is dropped unread when the rebuild fails on an earlier one: its
      // rejection must not surface as an unhandled one. Whoever awaits it still sees it.
      result.catch(() => undefined);
      worker.postMessage(request);
      return result;
    },
    async close() {
      closed = true;
      failAll(new Error('the normalizer was closed before this page was done'));
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
    path.join(__dirname, 'normalizer-thread.js'),
    path.resolve(__dirname, '..', 'dist', 'identity', 'normalizer-thread.js'),
  ];
  return candidates.find((file) => existsSync(file)) ?? null;
}
