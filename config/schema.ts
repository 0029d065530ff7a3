import { z } from 'zod';

/** A secret is never written in the file: it names an environment variable or a file. */
export const SecretRef = z.union([
  z.object({ env: z.string().min(1) }).strict(),
  z.object({ file: z.string().min(1) }).strict(),
]);
export type SecretRef = z.infer<typeof SecretRef>;

const Identifier = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'use letters, digits, _ and -');

export const DatabaseConfig = z.discriminatedUnion('client', [
  z.object({ client: z.literal('sqlite'), filename: z.string().min(1) }).strict(),
  z
    .object({
      client: z.literal('postgres'),
      connection: z.union([z.string().min(1), SecretRef]),
      schema: z.string().optional(),
    })
    .strict(),
]);
export type DatabaseConfig = z.infer<typeof DatabaseConfig>;

export const TemporalConfig = z
  .object({
    address: z.string().default('127.0.0.1:7233'),
    namespace: z.string().default('default'),
    taskQueue: z.string().default('braid'),
    uiUrl: z.string().optional(),
  })
  .strict();

const CsvFormat = z
  .object({
    type: z.literal('csv'),
    delimiter: z.string().length(1).optional(),
    encoding: z.enum(['utf8', 'latin1', 'utf16le']).optional(),
  })
  .strict();

export const SftpSourceConfig = z
  .object({
    type: z.literal('sftp'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(22),
    username: z.string().min(1),
    password: SecretRef.optional(),
    privateKey: SecretRef.optional(),
    directory: z.string().default('/'),
    pattern: z.string().refine(isRegExp, 'must be a valid regular expression'),
    format: CsvFormat.default({ type: 'csv' }),
    /** Column that identifies a record within this source. */
    recordKey: z.string().min(1),
    /** Column holding the record's own last-update time, used by "most recent wins". */
    updatedAt: z.string().optional(),
  })
  .strict()
  .refine((s) => s.password || s.privateKey, 'needs password or privateKey');
export type SftpSourceConfig = z.infer<typeof SftpSourceConfig>;

export const SourceConfig = SftpSourceConfig;
export type SourceConfig = z.infer<typeof SourceConfig>;

export const FieldType = z.enum(['string', 'email', 'phone', 'date', 'number', 'boolean']);
export type FieldType = z.infer<typeof FieldType>;

export const Normalizer = z.enum(['text', 'email', 'digits', 'date']);
export type Normalizer = z.infer<typeof Normalizer>;

export const MatchKey = z
  .object({
    name: Identifier,
    /** One column, or a compound of columns that must all match. */
    columns: z.array(z.string().min(1)).min(1),
    normalize: Normalizer.default('text'),
  })
  .strict();
export type MatchKey = z.infer<typeof MatchKey>;

export const DatasetConfig = z
  .object({
    sources: z.array(z.string().min(1)).min(1),
    /** Types checked when rows are staged; a row whose value does not fit is rejected. */
    fields: z.record(z.string(), FieldType).default({}),
    keys: z.array(MatchKey).min(2, 'needs email and at least one second key'),
    survivorship: z.enum(['most_recent', 'most_recent_non_null']).default('most_recent'),
  })
  .strict();
export type DatasetConfig = z.infer<typeof DatasetConfig>;

export const BrazeAttribute = z
  .object({
    name: z.string().min(1),
    type: z.enum(['string', 'number', 'boolean', 'date', 'array']).default('string'),
    requiredForSync: z.boolean().default(false),
  })
  .strict();
export type BrazeAttribute = z.infer<typeof BrazeAttribute>;

export const BrazeDestinationConfig = z
  .object({
    type: z.literal('braze'),
    endpoint: z.string().url(),
    apiKey: SecretRef,
    appKey: z.string().optional(),
    timeWindowSeconds: z.number().positive().default(3),
    requestVolume: z.number().int().positive().default(3000),
    batchSize: z.number().int().min(1).max(75).default(75),
    attributes: z.array(BrazeAttribute).default([]),
  })
  .strict();
export type BrazeDestinationConfig = z.infer<typeof BrazeDestinationConfig>;

export const SyncConfig = z
  .object({
    dataset: z.string().min(1),
    destination: z.string().min(1),
    /** Golden-record field sent as Braze's external id; `master_id` is stable across runs. */
    identifier: z.string().default('master_id'),
    /** Braze attribute name → golden-record field. */
    mapping: z.record(z.string(), z.string()).refine((m) => Object.keys(m).length > 0, 'is empty'),
    schedule: z.string().optional(),
  })
  .strict();
export type SyncConfig = z.infer<typeof SyncConfig>;

export const BraidConfig = z
  .object({
    database: DatabaseConfig,
    temporal: TemporalConfig.default({
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'braid',
    }),
    sources: z.record(Identifier, SourceConfig),
    datasets: z.record(Identifier, DatasetConfig),
    destinations: z.record(Identifier, BrazeDestinationConfig),
    syncs: z.record(Identifier, SyncConfig),
  })
  .strict();
export type BraidConfig = z.infer<typeof BraidConfig>;

function isRegExp(value: string): boolean {
  try {
    new RegExp(value);
    return true;
  } catch {
    return false;
  }
}
