import { STATUS_CODES, type IncomingMessage } from 'node:http';
import { readBody as readRawBody } from '../../local/http-io';

export { sendJson } from '../../local/http-io';

/** A request body as text, read up to a byte limit (see local/http-io.ts). */
export type ReadBody = { text: string; tooLarge: boolean };

export async function readBody(req: IncomingMessage, maxBytes: number): Promise<ReadBody> {
  const raw = await readRawBody(req, maxBytes);
  return raw.tooLarge
    ? { text: '', tooLarge: true }
    : { text: raw.bytes.toString('utf8'), tooLarge: false };
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
