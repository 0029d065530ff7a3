import { z } from 'zod';
import type { ZendeskReaderOptions } from '../../connectors/zendesk';
import { SecretRef } from '../secret-ref';

// schema.ts imports this file for its source union while this file needs schema.ts's SecretRef;
// reading it lazily keeps the import cycle harmless whichever module loads first.
const Secret = z.lazy(() => SecretRef);

const NEEDS_LOGIN = 'needs email and apiToken, or oauthToken';

/** Start of the first export: whole epoch seconds or an ISO 8601 instant with a zone. */
const StartTime = z
  .union([
    z.number().int().nonnegative(),
    z.iso.datetime({ offset: true }).transform((text) => Math.floor(Date.parse(text) / 1000)),
  ])
  .default(0);

/**
 * A Zendesk pull source: one object read through the incremental export API. Give `subdomain`
 * (`acme` for acme.zendesk.com) or `url` (a host-mapped account or a local emulator), and
 * `email` with `apiToken`, or `oauthToken`. Secrets are references, resolved at connect time.
 */
export const ZendeskSourceConfig = z
  .object({
    type: z.literal('zendesk'),
    subdomain: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/i, 'use the account name only, e.g. acme')
      .optional(),
    url: z
      .string()
      .url()
      .refine((text) => /^https?:\/\//i.test(text), 'must be an http(s) URL')
      .optional(),
    email: z.string().email().optional(),
    apiToken: Secret.optional(),
    oauthToken: Secret.optional(),
    object: z.enum(['tickets', 'users', 'organizations']),
    /** Where the first run starts; later runs continue from the saved cursor. */
    startTime: StartTime,
    /** Column that identifies a record within this source. */
    recordKey: z.string().min(1).default('id'),
    /** Column holding the record's own last-update time, used by "most recent wins". */
    updatedAt: z.string().min(1).default('updated_at'),
  })
  .strict()
  .superRefine((source, ctx) => {
    const issue = (field: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [field], message });
    if ((source.subdomain === undefined) === (source.url === undefined)) {
      issue('subdomain', 'give exactly one of subdomain and url');
    }
    const tokenLogin = source.email !== undefined || source.apiToken !== undefined;
    if (tokenLogin && source.oauthToken !== undefined) {
      issue('oauthToken', 'give email and apiToken, or oauthToken');
    } else if (source.oauthToken === undefined) {
      if (source.email === undefined) issue('email', NEEDS_LOGIN);
      if (source.apiToken === undefined) issue('apiToken', NEEDS_LOGIN);
    }
  });
export type ZendeskSourceConfig = z.infer<typeof ZendeskSourceConfig>;

/** Resolves a secret reference; pass `resolveSecret` from config/load.ts. */
export type SecretResolver = (ref: SecretRef, what: string) => string;

/**
 * The reader options for a configured Zendesk source, with its secrets resolved. Call it inside
 * the activity, at connect time, so resolved secrets never reach workflow history.
 */
export function zendeskReaderOptions(
  name: string,
  config: ZendeskSourceConfig,
  resolve: SecretResolver,
): ZendeskReaderOptions {
  const baseUrl = config.url ?? `https://${config.subdomain}.zendesk.com`;
  const auth =
    config.oauthToken !== undefined
      ? { oauthToken: resolve(config.oauthToken, `sources.${name}.oauthToken`) }
      : { email: config.email!, apiToken: resolve(config.apiToken!, `sources.${name}.apiToken`) };
  return {
    source: name,
    baseUrl: baseUrl.replace(/\/+$/, ''),
    auth,
    object: config.object,
    startTime: config.startTime,
    recordKey: config.recordKey,
    updatedAt: config.updatedAt,
  };
}
