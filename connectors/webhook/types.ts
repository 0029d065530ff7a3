import type { Knex } from 'knex';
import type { FieldType } from '../../config/schema';
import type { WebhookSourceConfig } from '../../config/sources/webhook';
import type { WebhookRequestOutcome, WebhookRequestStart } from '../../store/webhook';
import type { WebhookCredential } from './auth';

/** Fixed event phrases with fields, as the worker's logger takes them. */
export interface WebhookLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Called after a commit that really changed `source_records`, with the number of records. */
export type OnStaged = (source: string, count: number) => void | Promise<void>;

/** Returns the golden record's `master_id` for a staged `source_records` row. */
export type ResolveMaster = (source: string, stagedRecordId: number) => Promise<string | null>;

/** A served source with its credential resolved and its field types collected. */
export interface ServedSource {
  name: string;
  config: WebhookSourceConfig;
  credential: WebhookCredential;
  fields: Record<string, FieldType>;
}

/** What request handling needs from the server. */
export interface WebhookContext {
  db: Knex;
  log: WebhookLogger;
  now: () => number;
  resolveMaster: ResolveMaster | undefined;
  /** Runs `onStaged` without delaying the answer; failures are logged, never thrown. */
  notifyStaged(source: string, count: number): void;
}

export type Endpoint = 'records' | 'upsert';

/** A request that passed every check and is ready to stage. */
export interface PushRequest {
  source: ServedSource;
  endpoint: Endpoint;
  start: WebhookRequestStart;
  body: unknown;
  startedMs: number;
}

/** What staging produced: the answer to send, or "another copy got there first: replay it". */
export type StageAnswer =
  | {
      replayed: false;
      status: number;
      body: unknown;
      requestId: number | null;
      outcome: WebhookRequestOutcome;
    }
  | { replayed: true };
