/**
 * A record thread (see identity/record-worker.ts): compiles the dataset's rules once from its
 * workerData, then answers each request, in order, with its result or its error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { compileRecordWork, type PageEntries } from './record-work';
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
  // A page's counts move to the unify's thread rather than being copied.
  const moved =
    reply.result && 'counts' in reply.result ? [(reply.result as PageEntries).counts.buffer] : [];
  port.postMessage(reply, moved as ArrayBuffer[]);
});
