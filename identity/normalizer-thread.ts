/**
 * A normalizer thread (see identity/normalizer-pool.ts): compiles the dataset's rules once from
 * its workerData, then answers each page message with that page's index entries, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { compileNormalizer } from './normalizer';
import type { PageReply, PageRequest, ThreadData } from './normalizer-pool';

const port = parentPort;
if (!port) throw new Error('identity/normalizer-thread runs as a worker thread only');
const { dataset, name } = workerData as ThreadData;
const normalize = compileNormalizer(dataset, name);

port.on('message', (request: PageRequest) => {
  let reply: PageReply;
  try {
    reply = { seq: request.seq, entries: normalize(request.sources, request.payloads) };
  } catch (error) {
    reply = { seq: request.seq, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply, reply.entries ? [reply.entries.counts.buffer as ArrayBuffer] : []);
});
