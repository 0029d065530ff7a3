/**
 * A record thread (see identity/record-worker.ts): compiles the dataset's rules once from its
 * workerData, then answers each request, in order, with its result or its error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { compileRecordWork, type BatchClusters, type PageEntries } from './record-work';
import type { ThreadData, ThreadReply, ThreadRequest } from './record-worker';

const port = parentPort;
if (!port) throw new Error('identity/record-thread runs as a worker thread only');
const { dataset, name, joinSample } = workerData as ThreadData;
const work = compileRecordWork(dataset, name, joinSample);

port.on('message', (request: ThreadRequest) => {
  let reply: ThreadReply;
  try {
    const result =
      request.kind === 'page'
        ? work.normalize(request.ids, request.sources, request.payloads)
        : work.cluster(request.batch);
    reply = { seq: request.seq, result };
  } catch (error) {
    // Errors cross as their name and message (the unify's thread rebuilds one); the stack,
    // which points into this thread, would say nothing of use there.
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    reply = { seq: request.seq, error: { name, message } };
  }
  port.postMessage(reply, movable(reply.result) as ArrayBuffer[]);
});

/** A result's typed arrays, which move to the unify's thread rather than being copied. */
function movable(result: ThreadReply['result']): ArrayBufferLike[] {
  if (!result) return [];
  if ('counts' in result) {
    const { counts, keyAt, kindAt } = result as PageEntries;
    return [counts.buffer, keyAt.buffer, kindAt.buffer];
  }
  const { starts, members } = result as BatchClusters;
  return [starts.buffer, members.buffer];
}
