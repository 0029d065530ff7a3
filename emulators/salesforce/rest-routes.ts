/** REST API routes: query, queryAll, query locators, describe and getDeleted. */
import { SalesforceApiError } from './api-error';
import { MAX_QUERY_BATCH_SIZE, MIN_QUERY_BATCH_SIZE, REPLICATION_WINDOW_MS } from './limits';
import { parseSoql, SoqlSyntaxError, type ParsedQuery } from './soql-parse';
import { runQuery } from './soql-run';
import { findTable, newId, type EmulatorState, type QueryCursor } from './state';
import { restDateTime, type FieldSpec, type SObjectTable, type StoredRecord } from './store';

/** A parsed and checked query against a known table. */
export function prepareQuery(
  state: EmulatorState,
  soql: string | null,
): { query: ParsedQuery; table: SObjectTable } {
  if (!soql) throw new SalesforceApiError(400, 'MALFORMED_QUERY', 'A query string is required');
  let query: ParsedQuery;
  try {
    query = parseSoql(soql);
  } catch (error) {
    if (error instanceof SoqlSyntaxError) {
      throw new SalesforceApiError(400, 'MALFORMED_QUERY', error.message);
    }
    throw error;
  }
  const table = findTable(state, query.from);
  if (!table) {
    throw new SalesforceApiError(
      400,
      'INVALID_TYPE',
      `\n${soql}\nERROR at Row:1\nsObject type '${query.from}' is not supported. If you are ` +
        "attempting to use a custom object, be sure to append the '__c' after the entity name.",
    );
  }
  return { query, table };
}

/** `GET /query?q=` and `/queryAll?q=`: the first page, keeping the rest behind a locator. */
export function startQuery(
  state: EmulatorState,
  version: string,
  url: URL,
  includeDeleted: boolean,
  batchSizeHeader: string | undefined,
): unknown {
  const soql = url.searchParams.get('q');
  const { query, table } = prepareQuery(state, soql);
  const result = runQuery(soql!, query, table, includeDeleted);
  if (query.select === 'count') return { totalSize: result.rows.length, done: true, records: [] };

  const cursor: QueryCursor = {
    object: table.name,
    fields: result.fields,
    rows: result.rows,
    pageSize: pageSize(state, batchSizeHeader),
    breakAtPage: state.breakNextChainAtPage,
  };
  state.breakNextChainAtPage = undefined;
  const locator = newId(state, '01g');
  state.cursors.set(locator, cursor);
  return page(state, version, locator, cursor, 0);
}

/** `GET /query/<locator>-<offset>`: the page a `nextRecordsUrl` points at. */
export function continueQuery(state: EmulatorState, version: string, token: string): unknown {
  const dash = token.lastIndexOf('-');
  const locator = token.slice(0, dash);
  const offset = Number(token.slice(dash + 1));
  const cursor = state.cursors.get(locator);
  if (
    dash < 0 ||
    !cursor ||
    !Number.isInteger(offset) ||
    offset < 0 ||
    offset > cursor.rows.length
  ) {
    throw new SalesforceApiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
  }
  return page(state, version, locator, cursor, offset);
}

function page(
  state: EmulatorState,
  version: string,
  locator: string,
  cursor: QueryCursor,
  offset: number,
): unknown {
  const end = Math.min(offset + cursor.pageSize, cursor.rows.length);
  const pageNumber = Math.floor(offset / cursor.pageSize) + 1;
  const records = cursor.rows
    .slice(offset, end)
    .map((row) => restRecord(version, cursor.object, cursor.fields, row));
  const done = end >= cursor.rows.length;
  const body: Record<string, unknown> = { totalSize: cursor.rows.length, done };
  if (!done && cursor.breakAtPage === pageNumber) {
    // The broken chain from jsforce issue 1385: more records exist but no way to reach them.
    state.cursors.delete(locator);
  } else if (!done) {
    body.nextRecordsUrl = `/services/data/v${version}/query/${locator}-${end}`;
  } else state.cursors.delete(locator);
  body.records = records;
  return body;
}

function restRecord(version: string, object: string, fields: FieldSpec[], row: StoredRecord) {
  const out: Record<string, unknown> = {
    attributes: {
      type: object,
      url: `/services/data/v${version}/sobjects/${object}/${row.get('Id')}`,
    },
  };
  for (const field of fields) {
    const value = row.get(field.name) ?? null;
    out[field.name] =
      field.type === 'datetime' && typeof value === 'number' ? restDateTime(value) : value;
  }
  return out;
}

/** Honours `Sforce-Query-Options: batchSize=N` (200 to 2,000) within the emulator's page size. */
function pageSize(state: EmulatorState, header: string | undefined): number {
  const match = header ? /batchSize\s*=\s*(\d+)/i.exec(header) : null;
  const asked = match ? Number(match[1]) : MAX_QUERY_BATCH_SIZE;
  const clamped = Math.min(Math.max(asked, MIN_QUERY_BATCH_SIZE), MAX_QUERY_BATCH_SIZE);
  return Math.min(clamped, state.pageSize);
}

/** `GET /sobjects/<object>/describe`: the parts of a describe result clients read. */
export function describe(state: EmulatorState, version: string, object: string): unknown {
  const table = requireTable(state, object);
  return {
    name: table.name,
    label: table.name,
    keyPrefix: table.keyPrefix,
    queryable: true,
    retrieveable: true,
    replicateable: true,
    custom: false,
    fields: table.fields.map((field) => ({
      name: field.name,
      label: field.label ?? field.name,
      type: field.type,
      soapType: SOAP_TYPES[field.type] ?? 'xsd:string',
      nillable: field.nillable ?? true,
      length: field.type === 'id' || field.type === 'reference' ? 18 : 255,
      custom: field.name.endsWith('__c'),
      filterable: true,
      sortable: field.type !== 'textarea',
    })),
    urls: { describe: `/services/data/v${version}/sobjects/${table.name}/describe` },
  };
}

const SOAP_TYPES: Record<string, string> = {
  id: 'tns:ID',
  reference: 'tns:ID',
  boolean: 'xsd:boolean',
  datetime: 'xsd:dateTime',
  date: 'xsd:date',
  double: 'xsd:double',
  currency: 'xsd:double',
  percent: 'xsd:double',
  int: 'xsd:int',
};

/**
 * `GET /sobjects/<object>/deleted/?start=&end=`: records deleted in the window. Like
 * Salesforce, seconds are ignored (the window runs whole minutes) and a start older than the
 * replication window is refused.
 */
export function deleted(state: EmulatorState, object: string, url: URL): unknown {
  const table = requireTable(state, object);
  const start = Date.parse(url.searchParams.get('start') ?? '');
  const end = Date.parse(url.searchParams.get('end') ?? '');
  if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) {
    throw new SalesforceApiError(
      400,
      'INVALID_REPLICATION_DATE',
      'start and end must be dates, start before end',
    );
  }
  const now = state.now();
  if (start < now - REPLICATION_WINDOW_MS) {
    throw new SalesforceApiError(
      400,
      'INVALID_REPLICATION_DATE',
      'startDate cannot be more than 30 days ago',
    );
  }
  const from = floorMinute(start);
  const covered = floorMinute(Math.min(end, now));
  const deletedRecords = table.deletedLog
    .filter((d) => d.deletedDateMs >= from && d.deletedDateMs < covered)
    .map((d) => ({ id: d.id, deletedDate: restDateTime(d.deletedDateMs) }));
  return {
    deletedRecords,
    earliestDateAvailable: restDateTime(floorMinute(now - REPLICATION_WINDOW_MS)),
    latestDateCovered: restDateTime(covered),
  };
}

function floorMinute(ms: number): number {
  return ms - (ms % 60_000);
}

function requireTable(state: EmulatorState, object: string): SObjectTable {
  const table = findTable(state, object);
  if (!table) {
    throw new SalesforceApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
  }
  return table;
}
