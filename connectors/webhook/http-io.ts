import type { IncomingMessage } from 'node:http';

export { readBody, sendJson, sendJsonText, type RawBody } from '../../local/http-io';

/** Whether a Content-Type announces JSON in UTF-8 (the only charset JSON may use on the wire). */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const [type, ...params] = header.split(';').map((part) => part.trim().toLowerCase());
  const json = type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type ?? '');
  if (!json) return false;
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length);
  return charset === undefined || charset.replace(/"/g, '') === 'utf-8' || charset === 'utf8';
}

/** One value of a header that may repeat; the first one wins. */
export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
