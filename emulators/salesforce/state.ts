/** The mutable state one emulator instance shares between its route handlers. */
import type { FieldSpec, SObjectTable, StoredRecord } from './store';

export interface SalesforceUser {
  username: string;
  password: string;
  /** When set, the login password must be the password followed by this token. */
  securityToken?: string;
}

/** A REST query result kept for `nextRecordsUrl`, as Salesforce keeps a query cursor. */
export interface QueryCursor {
  object: string;
  fields: FieldSpec[];
  rows: StoredRecord[];
  pageSize: number;
  /** 1-based page answered with done=false and no nextRecordsUrl (a broken chain), if any. */
  breakAtPage?: number;
}

export interface BulkJob {
  id: string;
  object: string;
  operation: 'query' | 'queryAll';
  state: 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Aborted' | 'Failed';
  createdDateMs: number;
  /** Status checks still answered InProgress before the job completes. */
  checksUntilComplete: number;
  fields: FieldSpec[];
  rows: StoredRecord[];
}

export interface InjectedFailure {
  remaining: number;
  status: number;
  errorCode: string;
  message: string;
  /** Only requests whose path contains this text fail; all API requests when absent. */
  pathIncludes?: string;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  /** The request target exactly as received, query string included and still encoded. */
  rawUrl: string;
  status: number;
}

export interface EmulatorState {
  baseUrl: string;
  orgId: string;
  users: SalesforceUser[];
  /** Valid bearer tokens: sessions from SOAP login plus pre-issued OAuth access tokens. */
  sessions: Set<string>;
  tables: Map<string, SObjectTable>;
  cursors: Map<string, QueryCursor>;
  jobs: Map<string, BulkJob>;
  failures: InjectedFailure[];
  log: RequestLogEntry[];
  pageSize: number;
  bulkChecksUntilComplete: number;
  bulkResultPageSize: number;
  breakNextChainAtPage?: number;
  now: () => number;
  counter: number;
}

/** Looks an object up the way Salesforce does, ignoring case. */
export function findTable(state: EmulatorState, name: string): SObjectTable | undefined {
  for (const table of state.tables.values()) {
    if (table.name.toLowerCase() === name.toLowerCase()) return table;
  }
  return undefined;
}

/** A unique id with a Salesforce-like key prefix (`01g` query locator, `750` bulk job...). */
export function newId(state: EmulatorState, prefix: string): string {
  return `${prefix}${String(++state.counter).padStart(12, '0')}AAA`;
}
