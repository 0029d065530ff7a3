import { z } from 'zod';
import { SecretRef } from '../secret-ref';

/** 1 MiB: enough for a batch of a few thousand small records, small enough to parse at once. */
export const DEFAULT_WEBHOOK_MAX_BODY_BYTES = 1024 * 1024;

/**
 * How a webhook source authenticates requests: an HMAC-SHA256 signature of the raw body
 * (`X-Braid-Signature: sha256=<hex>`), or a bearer token. Either secret is a reference.
 */
export const WebhookAuth = z.union([
  z.object({ hmac: SecretRef }).strict(),
  z.object({ bearer: SecretRef }).strict(),
]);
export type WebhookAuth = z.infer<typeof WebhookAuth>;

/**
 * A push source: clients POST JSON records to `/sources/<name>/records` (or to `path`), and
 * Braid stages them. `updatedAt` names the record's `occurred_at` column, which orders versions
 * that arrive late or out of order; `eventId` names a per-record event id that makes a
 * redelivered event a no-op.
 */
export const WebhookSourceConfig = z
  .object({
    type: z.literal('webhook'),
    /** Column that identifies a record within this source. */
    recordKey: z.string().min(1),
    /** Column holding when the change happened (ISO 8601); older versions only go to history. */
    updatedAt: z.string().min(1).optional(),
    /** Column holding the event's unique id; a repeated id is acknowledged and ignored. */
    eventId: z.string().min(1).optional(),
    auth: WebhookAuth,
    maxBodyBytes: z.number().int().positive().default(DEFAULT_WEBHOOK_MAX_BODY_BYTES),
    /** Base path replacing `/sources/<name>`, e.g. `/hooks/shop` serves `/hooks/shop/records`. */
    path: z
      .string()
      .regex(/^(\/[A-Za-z0-9_.-]+)+$/, 'must start with / and use letters, digits, _ . - and /')
      .optional(),
  })
  .strict();
export type WebhookSourceConfig = z.infer<typeof WebhookSourceConfig>;
