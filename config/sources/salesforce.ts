import { z } from 'zod';
import type { SalesforceCredentials, SalesforceReaderOptions } from '../../connectors/salesforce';
import { resolveSecret } from '../secret-ref';
import { SecretRef } from '../secret-ref';

const FieldName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/, 'must be a field API name');

/**
 * A Salesforce object read incrementally. Log in with `username` + `password` (+ optional
 * `securityToken`) against `loginUrl`, or give an OAuth `accessToken` with `instanceUrl`.
 * Secrets are references, resolved when the reader connects.
 */
export const SalesforceSourceConfig = z
  .object({
    type: z.literal('salesforce'),
    loginUrl: z.string().url().optional(),
    instanceUrl: z.string().url().optional(),
    username: z.string().min(1).optional(),
    password: SecretRef.optional(),
    securityToken: SecretRef.optional(),
    accessToken: SecretRef.optional(),
    /** sObject API name, such as Contact or Account. */
    object: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be an object API name'),
    /** Fields to read; Id and the cursor field are always added. */
    fields: z.array(FieldName).default([]),
    cursorField: z.enum(['SystemModstamp', 'LastModifiedDate']).default('SystemModstamp'),
    /** Extra SOQL filter, ANDed with the cursor condition. */
    where: z.string().min(1).optional(),
    apiVersion: z
      .string()
      .regex(/^\d{2,3}\.\d$/, 'like 59.0')
      .default('59.0'),
    /** REST query page size; Salesforce accepts 200 to 2,000. */
    pageSize: z.number().int().min(200).max(2000).default(2000),
    /** First loads expected to be larger than this use a Bulk API 2.0 query job. */
    bulkThreshold: z.number().int().min(0).default(50_000),
    /** Records per Bulk API result page. */
    bulkPageSize: z.number().int().min(1).max(1_000_000).default(50_000),
    /** Column with the record's own update time; the cursor field by default. */
    updatedAt: FieldName.optional(),
    recordKey: FieldName.default('Id'),
  })
  .strict()
  .superRefine((s, ctx) => {
    const usesPassword = s.username !== undefined || s.password !== undefined;
    if (usesPassword && s.accessToken !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'use username/password or accessToken, not both' });
    } else if (s.accessToken !== undefined) {
      if (!s.instanceUrl)
        ctx.addIssue({
          code: 'custom',
          path: ['instanceUrl'],
          message: 'is required with accessToken',
        });
    } else if (!s.username || !s.password) {
      ctx.addIssue({ code: 'custom', message: 'needs username and password, or accessToken' });
    }
    if (s.securityToken !== undefined && !usesPassword) {
      ctx.addIssue({
        code: 'custom',
        path: ['securityToken'],
        message: 'only goes with username/password',
      });
    }
  });
export type SalesforceSourceConfig = z.infer<typeof SalesforceSourceConfig>;

/** Default login server when neither loginUrl nor instanceUrl is given. */
export const DEFAULT_LOGIN_URL = 'https://login.salesforce.com';

/**
 * Reader options for a configured source. Secrets are read by the returned `credentials`
 * function, which the reader calls when it connects, inside the activity.
 */
export function salesforceReaderOptions(
  source: string,
  config: SalesforceSourceConfig,
): SalesforceReaderOptions {
  return {
    source,
    loginUrl: config.loginUrl ?? config.instanceUrl ?? DEFAULT_LOGIN_URL,
    instanceUrl: config.instanceUrl,
    apiVersion: config.apiVersion,
    credentials: () => salesforceCredentials(source, config),
    object: config.object,
    fields: config.fields,
    cursorField: config.cursorField,
    where: config.where,
    pageSize: config.pageSize,
    bulkThreshold: config.bulkThreshold,
    bulkPageSize: config.bulkPageSize,
    updatedAt: config.updatedAt,
    recordKey: config.recordKey,
  };
}

function salesforceCredentials(
  source: string,
  config: SalesforceSourceConfig,
): SalesforceCredentials {
  const what = `sources.${source}`;
  if (config.accessToken) {
    return {
      kind: 'accessToken',
      accessToken: resolveSecret(config.accessToken, `${what}.accessToken`),
    };
  }
  return {
    kind: 'password',
    username: config.username ?? '',
    password: resolveSecret(config.password!, `${what}.password`),
    securityToken: config.securityToken
      ? resolveSecret(config.securityToken, `${what}.securityToken`)
      : undefined,
  };
}
