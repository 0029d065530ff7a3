import { z } from 'zod';

import { DATASET_PREPARATION } from './datasets';
import { checkPreparation } from './datasets/check';
import { cronProblem } from '../domain/cron';
import { parseBlockedPattern } from '../domain/identity/blocked';
import { isSupportedPhoneCountry } from '../domain/identity/normalizers';
import { SecretRef } from './secret-ref';
import { checkSyncEvents, SyncEvents } from './sync-events';
import { SalesforceSourceConfig } from './sources/salesforce';
import { SqlSourceConfig } from './sources/sql';
import { WebhookSourceConfig } from './sources/webhook';
import { ZendeskSourceConfig } from './sources/zendesk';

export { SecretRef };

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

/** A BCP 47 locale whose number format `Intl` knows, such as `de-DE` (decimal commas). */
const NumberLocale = z.string().refine(isNumberLocale, 'must be a locale such as de-DE');

export const CsvFormat = z
  .object({
    type: z.literal('csv'),
    delimiter: z.string().length(1).optional(),
    /** Quote character around values that hold the delimiter or line breaks; `"` by default. */
    quote: z.string().length(1).optional(),
    encoding: z.enum(['utf8', 'latin1', 'utf16le']).optional(),
    /** Values of `number` fields are written in this locale's convention (BL-08). */
    numberLocale: NumberLocale.optional(),
  })
  .strict();
export type CsvFormat = z.infer<typeof CsvFormat>;

/** A top-level JSON array of objects (`json`) or one object per line (`ndjson`), in UTF-8. */
export const JsonFormat = z
  .object({ type: z.enum(['json', 'ndjson']), numberLocale: NumberLocale.optional() })
  .strict();
export type JsonFormat = z.infer<typeof JsonFormat>;

export const FileFormat = z.discriminatedUnion('type', [CsvFormat, JsonFormat]);
export type FileFormat = z.infer<typeof FileFormat>;

/** Date tokens of `datePattern`; see connectors/sftp/file-names.ts. */
const DATE_PATTERN = /^(?:YYYY|MM|DD|HH|mm|ss|[-_.T])+$/;

/**
 * A drop folder on SFTP. Files are chosen by `pattern` (a regular expression for the whole name)
 * or by `prefix` + `datePattern` + `suffix` (`contacts_` + `YYYYMMDD` + `.csv`), imported in
 * date order. Upload names (`.part`, `.tmp`, `.filepart`, leading `.`) never match. A file is
 * imported once two listings `stableSeconds` apart saw the same size and modification time.
 */
export const SftpSourceConfig = z
  .object({
    type: z.literal('sftp'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(22),
    username: z.string().min(1),
    password: SecretRef.optional(),
    privateKey: SecretRef.optional(),
    directory: z.string().default('/'),
    pattern: z.string().refine(isRegExp, 'must be a valid regular expression').optional(),
    prefix: z.string().optional(),
    datePattern: z
      .string()
      .regex(DATE_PATTERN, 'use YYYY, MM, DD, HH, mm, ss and - _ . T')
      .optional(),
    suffix: z.string().default(''),
    /** `auto` imports every new or changed file; `once` imports the first files seen, once. */
    mode: z.enum(['auto', 'once']).default('auto'),
    /** Seconds two listings must be apart, showing the same size and mtime; 0 imports at once. */
    stableSeconds: z.number().int().min(0).default(60),
    format: FileFormat.default({ type: 'csv' }),
    /** Move each file here once it is imported (a directory on the same server). */
    archive: z
      .object({ directory: z.string().min(1) })
      .strict()
      .optional(),
    /** Column that identifies a record within this source. */
    recordKey: z.string().min(1),
    /** Column holding the record's own last-update time, used by "most recent wins". */
    updatedAt: z.string().optional(),
  })
  .strict()
  .refine((s) => s.password || s.privateKey, 'needs password or privateKey')
  .refine((s) => (s.pattern === undefined) !== (s.datePattern === undefined), {
    message: 'give either pattern, or prefix and datePattern',
    path: ['pattern'],
  })
  .refine((s) => s.datePattern === undefined || /YYYY/.test(s.datePattern), {
    message: 'needs YYYY',
    path: ['datePattern'],
  })
  .refine((s) => s.archive === undefined || !sameDirectory(s.archive.directory, s.directory), {
    message: 'must differ from the source directory',
    path: ['archive', 'directory'],
  });
export type SftpSourceConfig = z.infer<typeof SftpSourceConfig>;

export const SourceConfig = z.discriminatedUnion('type', [
  SftpSourceConfig,
  SalesforceSourceConfig,
  ZendeskSourceConfig,
  SqlSourceConfig,
  WebhookSourceConfig,
]);
export type SourceConfig = z.infer<typeof SourceConfig>;

export const FieldType = z.enum(['string', 'email', 'phone', 'date', 'number', 'boolean']);
export type FieldType = z.infer<typeof FieldType>;

export const Normalizer = z.enum(['text', 'email', 'phone', 'digits', 'date']);
export type Normalizer = z.infer<typeof Normalizer>;

export const MatchKey = z
  .object({
    name: Identifier,
    /** One column, or a compound of columns that must all match. */
    columns: z.array(z.string().min(1)).min(1),
    normalize: Normalizer.default('text'),
    /** email: also apply provider rules (Gmail ignores dots and `+tags`). */
    providerRules: z.boolean().default(false),
    /** text: strip accents before comparing (on by default: "Léa" = "Lea"). */
    stripAccents: z.boolean().default(true),
    /** A golden record holds at most this many distinct values of the key; see README. */
    maxValues: z.number().int().positive().optional(),
    /** Extra values that never link for this key: exact text, or /regex/ with slashes. */
    blocked: z.array(z.string().min(1)).default([]),
  })
  .strict();
export type MatchKey = z.infer<typeof MatchKey>;

const FuzzyCompare = z
  .object({
    column: z.string().min(1),
    method: z.enum(['jaro_winkler', 'phonetic', 'exact']).default('jaro_winkler'),
    /** jaro_winkler only: the similarity (0..1) a pair needs. */
    threshold: z.number().min(0).max(1).default(0.9),
  })
  .strict();

/**
 * A rule set links records by exact keys (listed by name) or by a fuzzy comparison of columns
 * within a block of records that share exact `block` columns. Rule sets run in order: clusters
 * formed by earlier ones are locked, later ones may only attach records to them.
 */
export const IdentityRule = z
  .object({
    name: Identifier,
    keys: z.array(z.string().min(1)).min(1).optional(),
    block: z.array(z.string().min(1)).min(1).optional(),
    compare: z.array(FuzzyCompare).min(1).optional(),
  })
  .strict()
  .refine((r) => !!r.keys !== !!(r.block && r.compare), 'give either keys, or block and compare');
export type IdentityRule = z.infer<typeof IdentityRule>;

export const SurvivorshipRule = z.enum([
  'most_recent',
  'most_recent_non_null',
  'source_priority',
  'first_seen',
  'max',
  'min',
  'union',
]);
export type SurvivorshipRule = z.infer<typeof SurvivorshipRule>;

export const SurvivorshipConfig = z
  .object({
    default: SurvivorshipRule.default('most_recent'),
    columns: z.record(z.string(), SurvivorshipRule).default({}),
    /** For `source_priority`: sources first to last; others come after, most recent first. */
    sourcePriority: z.array(z.string().min(1)).default([]),
  })
  .strict();
export type SurvivorshipConfig = z.infer<typeof SurvivorshipConfig>;

/** Local parts that name a role or a shared mailbox rather than a person. */
export const DEFAULT_ROLE_EMAILS = ['contact', 'info', 'support', 'team', 'noreply', 'no-reply'];

export const DatasetConfig = z
  .object({
    sources: z.array(z.string().min(1)).min(1),
    /** Types checked when rows are staged; a row whose value does not fit is rejected. */
    fields: z.record(z.string(), FieldType).default({}),
    /** Match keys; at least one for a profiles dataset, none for events (checkPreparation). */
    keys: z.array(MatchKey).default([]),
    /** Rule sets in order; by default one rule set, `exact`, with every key. */
    rules: z.array(IdentityRule).optional(),
    /** Values that never link, for every key, added to the built-in placeholders. */
    blockedValues: z.array(z.string().min(1)).default([]),
    /** Role addresses (local parts) never used to merge; replaces the default list. */
    roleEmails: z.array(z.string().min(1)).default(DEFAULT_ROLE_EMAILS),
    /** Country for phone numbers written without an international prefix (ISO 3166 alpha-2). */
    defaultCountry: z.string().length(2).optional(),
    survivorship: z
      .union([SurvivorshipRule, SurvivorshipConfig])
      .default('most_recent')
      .transform((s) =>
        typeof s === 'string' ? { default: s, columns: {}, sourcePriority: [] } : s,
      ),
    ...DATASET_PREPARATION,
  })
  .strict()
  .superRefine((dataset, ctx) => {
    checkPreparation(dataset, ctx);
    const names = new Set<string>();
    dataset.keys.forEach((key, i) => {
      if (names.has(key.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['keys', i, 'name'],
          message: `"${key.name}" is used twice`,
        });
      }
      names.add(key.name);
      key.blocked.forEach((entry, j) => checkBlockedEntry(entry, ['keys', i, 'blocked', j], ctx));
    });
    dataset.blockedValues.forEach((entry, j) =>
      checkBlockedEntry(entry, ['blockedValues', j], ctx),
    );
    // A link joins on the golden field's value (and, for a record with several, on every
    // member's); `union` turns the field into a JSON list, which matches no event. It is not
    // needed: the events of every member's value count already.
    for (const [name, link] of Object.entries(dataset.links)) {
      if (dataset.survivorship.columns[link.field] === 'union') {
        const message =
          `links.${name} joins on "${link.field}": give it a single-value rule, not union ` +
          `(every member's "${link.field}" links its events already)`;
        ctx.addIssue({ code: 'custom', path: ['survivorship', 'columns', link.field], message });
      }
    }
    if (dataset.defaultCountry !== undefined && !isSupportedPhoneCountry(dataset.defaultCountry)) {
      const message = `"${dataset.defaultCountry}" is not a country code known for phone numbers`;
      ctx.addIssue({ code: 'custom', path: ['defaultCountry'], message });
    }
    dataset.rules?.forEach((rule, i) => {
      for (const key of rule.keys ?? []) {
        if (!names.has(key)) {
          ctx.addIssue({ code: 'custom', path: ['rules', i, 'keys'], message: `no key "${key}"` });
        }
      }
    });
  });
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
    /** A retired golden record's profile: deleted in Braze (/users/delete), or left alone. */
    onDelete: z.enum(['delete', 'keep']).default('delete'),
    /** A merged-away golden record's profile: merged into the kept one (/users/merge), or left. */
    onMerge: z.enum(['merge', 'keep']).default('merge'),
    /**
     * A profile whose golden record's external id changed: renamed to the new id
     * (/users/external_ids/rename), or left under the old id while the new id gets every
     * attribute.
     */
    onRename: z.enum(['rename', 'keep']).default('rename'),
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
    schedule: z
      .string()
      .superRefine((value, ctx) => {
        const problem = cronProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: `not a cron expression: ${problem}` });
      })
      .optional(),
    /** Run as soon as a webhook source of the dataset receives records (runs coalesce). */
    realtime: z.boolean().default(false),
    /** Linked events sent as Braze purchases or custom events (config/sync-events.ts). */
    events: SyncEvents,
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
  .strict()
  .superRefine((config, ctx) => checkSyncEvents(config, ctx));
export type BraidConfig = z.infer<typeof BraidConfig>;

function isNumberLocale(value: string): boolean {
  try {
    return Intl.NumberFormat.supportedLocalesOf([value]).length === 1;
  } catch {
    return false;
  }
}

function sameDirectory(a: string, b: string): boolean {
  const clean = (dir: string): string => dir.replace(/\/+$/, '') || '/';
  return clean(a) === clean(b);
}

/** A blocked entry written `/…/` must be a regular expression that compiles. */
function checkBlockedEntry(
  entry: string,
  path: Array<string | number>,
  ctx: z.RefinementCtx,
): void {
  try {
    parseBlockedPattern(entry);
  } catch {
    ctx.addIssue({ code: 'custom', path, message: `${entry} is not a valid regular expression` });
  }
}

function isRegExp(value: string): boolean {
  try {
    new RegExp(value);
    return true;
  } catch {
    return false;
  }
}
