import type { IncomingMessage, ServerResponse } from 'node:http';

/** A body read up to a byte limit; past the limit the rest is drained and dropped. */
export type RawBody = { bytes: Buffer; tooLarge: false } | { tooLarge: true; sizeBytes: number };

/**
 * Reads the whole body but keeps at most `maxBytes`, so an oversized upload cannot fill memory.
 * The rest is drained rather than cut off, so the client reads our 413 instead of a reset.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<RawBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else chunks.length = 0;
    });
    req.on('end', () => {
      if (size > maxBytes) resolve({ tooLarge: true, sizeBytes: size });
      else resolve({ bytes: Buffer.concat(chunks), tooLarge: false });
    });
    req.on('error', reject);
  });
}

/** Writes a JSON answer unless the client has already gone away. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendJsonText(res, status, JSON.stringify(body), headers);
}

/** Writes JSON text as it is, e.g. an answer stored for an idempotent replay. */
export function sendJsonText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}
