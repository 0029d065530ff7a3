/** Bulk API 2.0 query jobs: create, check, result pages with `Sforce-Locator`, abort, delete. */
import { SalesforceApiError } from './api-error';
import { prepareQuery } from './rest-routes';
import { runQuery } from './soql-run';
import { newId, type BulkJob, type EmulatorState } from './state';
import { restDateTime, type FieldSpec, type FieldValue } from './store';

/** `POST /jobs/query` with `{ operation, query }`. The result set is fixed when the job starts. */
export function createJob(state: EmulatorState, version: string, body: unknown): unknown {
  const request = (body ?? {}) as { operation?: unknown; query?: unknown };
  if (request.operation !== 'query' && request.operation !== 'queryAll') {
    throw new SalesforceApiError(
      400,
      'INVALIDJOB',
      "InvalidJob : operation must be 'query' or 'queryAll'",
    );
  }
  const soql = typeof request.query === 'string' ? request.query : null;
  const { query, table } = prepareQuery(state, soql);
  if (query.select === 'count') {
    throw new SalesforceApiError(400, 'API_ERROR', 'Bulk API 2.0 query does not support COUNT()');
  }
  const result = runQuery(soql!, query, table, request.operation === 'queryAll');
  const job: BulkJob = {
    id: newId(state, '750'),
    object: table.name,
    operation: request.operation,
    state: 'UploadComplete',
    createdDateMs: state.now(),
    checksUntilComplete: state.bulkChecksUntilComplete,
    fields: result.fields,
    rows: result.rows,
  };
  state.jobs.set(job.id, job);
  return jobInfo(job, version);
}

/** `GET /jobs/query/<id>`: in progress for the configured number of checks, then complete. */
export function checkJob(state: EmulatorState, version: string, id: string): unknown {
  const job = requireJob(state, id);
  if (job.state === 'UploadComplete' || job.state === 'InProgress') {
    job.state = job.checksUntilComplete > 0 ? 'InProgress' : 'JobComplete';
    job.checksUntilComplete--;
  }
  return jobInfo(job, version);
}

/** `PATCH /jobs/query/<id>` with `{ state: 'Aborted' }`. */
export function abortJob(
  state: EmulatorState,
  version: string,
  id: string,
  body: unknown,
): unknown {
  const job = requireJob(state, id);
  if ((body as { state?: unknown } | null)?.state !== 'Aborted') {
    throw new SalesforceApiError(400, 'INVALIDJOB', 'InvalidJob : only Aborted is accepted');
  }
  job.state = 'Aborted';
  return jobInfo(job, version);
}

export function deleteJob(state: EmulatorState, id: string): void {
  requireJob(state, id);
  state.jobs.delete(id);
}

/**
 * `GET /jobs/query/<id>/results?maxRecords=&locator=`: one CSV page. The next page's locator
 * comes in `Sforce-Locator`, the text `null` after the last page.
 */
export function jobResults(
  state: EmulatorState,
  id: string,
  url: URL,
): { csv: string; headers: Record<string, string> } {
  const job = requireJob(state, id);
  if (job.state !== 'JobComplete') {
    throw new SalesforceApiError(
      400,
      'API_ERROR',
      `Job ${id} is not complete (state ${job.state})`,
    );
  }
  const locator = url.searchParams.get('locator');
  const offset = locator ? decodeLocator(locator) : 0;
  if (offset === undefined || offset > job.rows.length) {
    throw new SalesforceApiError(400, 'INVALIDLOCATOR', `Invalid locator: ${locator}`);
  }
  const maxRecords = Number(url.searchParams.get('maxRecords') ?? state.bulkResultPageSize);
  const size =
    Number.isInteger(maxRecords) && maxRecords > 0 ? maxRecords : state.bulkResultPageSize;
  const end = Math.min(offset + size, job.rows.length);

  const lines = [job.fields.map((f) => quote(f.name)).join(',')];
  for (const row of job.rows.slice(offset, end)) {
    lines.push(job.fields.map((f) => csvValue(f, row.get(f.name) ?? null)).join(','));
  }
  const next = end < job.rows.length ? Buffer.from(String(end)).toString('base64url') : 'null';
  return {
    csv: lines.join('\n') + '\n',
    headers: { 'sforce-locator': next, 'sforce-numberofrecords': String(end - offset) },
  };
}

function jobInfo(job: BulkJob, version: string): Record<string, unknown> {
  return {
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: '005000000000001AAA',
    createdDate: restDateTime(job.createdDateMs),
    systemModstamp: restDateTime(job.createdDateMs),
    state: job.state,
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: Number(version),
    lineEnding: 'LF',
    columnDelimiter: 'COMMA',
    ...(job.state === 'JobComplete'
      ? { jobType: 'V2Query', numberRecordsProcessed: job.rows.length, retries: 0 }
      : {}),
  };
}

function requireJob(state: EmulatorState, id: string): BulkJob {
  const job = state.jobs.get(id);
  if (!job) throw new SalesforceApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
  return job;
}

function decodeLocator(locator: string): number | undefined {
  const offset = Number(Buffer.from(locator, 'base64url').toString('utf8'));
  return Number.isInteger(offset) && offset >= 0 ? offset : undefined;
}

/** Bulk results quote every value; a null is an empty, unquoted field. */
function csvValue(field: FieldSpec, value: FieldValue): string {
  if (value === null) return '';
  if (field.type === 'datetime' && typeof value === 'number') {
    return quote(new Date(value).toISOString());
  }
  return quote(String(value));
}

function quote(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}
