import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  findIdempotentAnswer,
  logWebhookRequest,
  type WebhookRequestStart,
} from '../../store/webhook';
import { checkAuth } from './auth';
import { headerValue, isJsonContentType, readBody, sendJson, sendJsonText } from './http-io';
import { describeJsonError, parseJson } from './json-syntax';
import { stageBatch, stageOne } from './stage-request';
import type { Endpoint, PushRequest, ServedSource, WebhookContext } from './types';

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });
/** Records are flattened recursively; a body nested deeper is refused before that. */
const MAX_DEPTH = 32;

/**
 * Whether a parsed JSON value nests objects or arrays deeper than `max`, checked without
 * recursion.
 */
function deeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Idempotency keys are opaque to us; this keeps them printable and fitting the log column. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * Handles `POST <base>/records` and `POST <base>/upsert`: content type (415), size (413),
 * authentication (401), idempotent replay, JSON syntax (400), then staging. Every outcome of a
 * known source is written to the request log; a refused request is logged without its body.
 */
export async function handlePush(
  ctx: WebhookContext,
  source: ServedSource,
  endpoint: Endpoint,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const startedMs = ctx.now();
  const start: WebhookRequestStart = {
    source: source.name,
    endpoint,
    receivedAtMs: startedMs,
    idempotencyKey: null,
    bodyHash: null,
    remoteAddress: req.socket.remoteAddress ?? null,
  };
  const refuse = async (status: number, error: string, headers: Record<string, string> = {}) => {
    await logWebhookRequest(ctx.db, start, {
      statusCode: status,
      errorSummary: error,
      durationMs: ctx.now() - startedMs,
    });
    ctx.log.warn('Webhook request refused', { source: source.name, statusCode: status, error });
    sendJson(res, status, { error }, headers);
  };

  if (!isJsonContentType(headerValue(req, 'content-type'))) {
    req.resume();
    return refuse(415, 'Content-Type must be application/json (UTF-8)');
  }
  const key = headerValue(req, 'idempotency-key');
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    req.resume();
    return refuse(400, 'Idempotency-Key must be 1 to 255 printable ASCII characters');
  }
  start.idempotencyKey = key ?? null;

  const max = source.config.maxBodyBytes;
  const raw = await readBody(req, max);
  if (raw.tooLarge) {
    return refuse(413, `body of ${raw.sizeBytes} bytes exceeds the limit of ${max} bytes`, {
      connection: 'close',
    });
  }
  const auth = checkAuth(source.credential, req.headers, raw.bytes, ctx.now());
  if (!auth.ok) {
    const challenge: Record<string, string> =
      source.credential.kind === 'bearer' ? { 'www-authenticate': 'Bearer' } : {};
    return refuse(401, auth.reason, challenge);
  }

  start.bodyHash = createHash('sha256').update(raw.bytes).digest('hex');
  if (start.idempotencyKey !== null && (await replay(ctx, start, res, startedMs))) return;

  let text: string;
  try {
    text = STRICT_UTF8.decode(raw.bytes);
  } catch {
    // Decoding loosely would store U+FFFD in place of the bad bytes, silently changing values.
    return refuse(400, 'body is not valid UTF-8');
  }
  const parsed = parseJson(text.replace(/^\uFEFF/, ''));
  if (!parsed.ok) return refuse(400, describeJsonError(parsed.error));
  if (deeperThan(parsed.value, MAX_DEPTH))
    return refuse(400, `JSON nested deeper than ${MAX_DEPTH} levels`);

  const request: PushRequest = { source, endpoint, start, body: parsed.value, startedMs };
  const answer =
    endpoint === 'records' ? await stageBatch(ctx, request) : await stageOne(ctx, request);
  if (answer.replayed) {
    await replay(ctx, start, res, startedMs);
    return;
  }
  ctx.log[answer.status >= 400 ? 'warn' : 'info']('Webhook request handled', {
    source: source.name,
    requestId: answer.requestId,
    statusCode: answer.status,
    recordCount: answer.outcome.recordCount ?? 0,
    stagedCount: answer.outcome.staged ?? 0,
    rejectedCount: answer.outcome.rejected ?? 0,
    durationMs: ctx.now() - startedMs,
  });
  sendJson(res, answer.status, answer.body);
}

/**
 * Answers a repeated Idempotency-Key with the first answer, byte for byte, and logs the
 * repeat. The same key with another body or endpoint is a client bug: 422, nothing replayed.
 */
async function replay(
  ctx: WebhookContext,
  start: WebhookRequestStart,
  res: ServerResponse,
  startedMs: number,
): Promise<boolean> {
  const first = await findIdempotentAnswer(ctx.db, start.source, start.idempotencyKey!);
  if (!first) return false;
  const durationMs = ctx.now() - startedMs;
  if (first.bodyHash !== start.bodyHash || first.endpoint !== start.endpoint) {
    const error = 'Idempotency-Key was already used for a different request';
    await logWebhookRequest(ctx.db, start, { statusCode: 422, errorSummary: error, durationMs });
    ctx.log.warn('Webhook request refused', { source: start.source, statusCode: 422, error });
    sendJson(res, 422, { error });
    return true;
  }
  await logWebhookRequest(ctx.db, start, {
    statusCode: first.statusCode,
    errorSummary: `replay of request ${first.requestId}`,
    replayOf: first.requestId,
    durationMs,
  });
  ctx.log.info('Webhook request replayed', {
    source: start.source,
    requestId: first.requestId,
    statusCode: first.statusCode,
  });
  sendJsonText(res, first.statusCode, first.response, { 'idempotent-replayed': 'true' });
  return true;
}
