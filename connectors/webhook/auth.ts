import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const SIGNATURE_HEADER = 'x-braid-signature';
export const TIMESTAMP_HEADER = 'x-braid-timestamp';

/** Signed timestamps older (or further ahead) than this are refused as replays. */
export const MAX_TIMESTAMP_SKEW_MS = 5 * 60 * 1000;

/** A source's resolved credential; held in memory only, never logged. */
export type WebhookCredential =
  { kind: 'hmac'; secret: string } | { kind: 'bearer'; token: string };

export type AuthCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks a request against its source's credential.
 *
 * HMAC: `X-Braid-Signature: sha256=<hex>` is HMAC-SHA256 of the raw body with the shared
 * secret. When the client sends `X-Braid-Timestamp` (Unix seconds), the signed text is
 * `<timestamp>.<raw body>`, so the timestamp cannot be swapped for a fresh one, and a request
 * whose timestamp is more than 5 minutes away from now is refused as a replay.
 *
 * Bearer: `Authorization: Bearer <token>`. Both comparisons take the same time whatever the
 * input, and reasons never contain the secret, the token or the signature.
 */
export function checkAuth(
  credential: WebhookCredential,
  headers: IncomingHttpHeaders,
  rawBody: Buffer,
  nowMs: number,
): AuthCheck {
  if (credential.kind === 'bearer') return checkBearer(credential.token, headers.authorization);

  const signature = single(headers[SIGNATURE_HEADER]);
  if (signature === undefined) return { ok: false, reason: 'missing signature' };
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(signature.trim());
  if (!match) return { ok: false, reason: 'malformed signature' };

  const timestamp = single(headers[TIMESTAMP_HEADER]);
  const hmac = createHmac('sha256', credential.secret);
  if (timestamp !== undefined) {
    if (!/^\d{1,12}$/.test(timestamp.trim())) return { ok: false, reason: 'malformed timestamp' };
    if (Math.abs(nowMs - Number(timestamp.trim()) * 1000) > MAX_TIMESTAMP_SKEW_MS) {
      return { ok: false, reason: 'timestamp outside the 5 minute window (replay?)' };
    }
    hmac.update(`${timestamp.trim()}.`);
  }
  const expected = hmac.update(rawBody).digest();
  const given = Buffer.from(match[1]!, 'hex');
  return timingSafeEqual(expected, given)
    ? { ok: true }
    : { ok: false, reason: 'invalid signature' };
}

function checkBearer(token: string, header: string | undefined): AuthCheck {
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) return { ok: false, reason: 'missing bearer token' };
  // Hashing first gives equal-length buffers, so the comparison leaks neither content nor length.
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(match[1]!), digest(token))
    ? { ok: true }
    : { ok: false, reason: 'invalid bearer token' };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The signature header value a client sends, for tests and client libraries. */
export function signBody(
  secret: string,
  rawBody: Buffer | string,
  timestampSeconds?: number,
): string {
  const hmac = createHmac('sha256', secret);
  if (timestampSeconds !== undefined) hmac.update(`${timestampSeconds}.`);
  return `sha256=${hmac.update(rawBody).digest('hex')}`;
}
