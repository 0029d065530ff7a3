import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';

/** A request body read up to a byte limit; past the limit the rest is drained, not kept. */
export type ReadBody = { text: string; tooLarge: boolean };

/** Reads the whole body, keeping at most `maxBytes` so an oversized upload cannot fill memory. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<ReadBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
    });
    req.on('end', () => {
      const tooLarge = size > maxBytes;
      resolve({ text: tooLarge ? '' : Buffer.concat(chunks).toString('utf8'), tooLarge });
    });
    req.on('error', reject);
  });
}

/** Parses JSON, or returns `undefined` when the text is not JSON. */
export function parseJsonOrUndefined(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

/** The Bearer token of a request, or undefined. */
export function bearerKey(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

/** Writes a JSON answer unless the client has already gone away. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.writableEnded || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/** A Braze-like error body for an injected or generic failure status. */
export function errorBody(status: number): { message: string } {
  const messages: Record<number, string> = {
    401: 'Invalid API key',
    403: 'Access Denied',
    404: 'Not Found',
    413: 'Payload Too Large',
    429: 'API rate limit exceeded',
  };
  return { message: messages[status] ?? STATUS_CODES[status] ?? 'Error' };
}
