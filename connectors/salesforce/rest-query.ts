/** Pages of one REST query, following `nextRecordsUrl` until `done`. */
import { UpstreamError } from '../errors';
import type { SalesforceSession } from './session';

interface QueryResponse {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: Array<Record<string, unknown>>;
}

/** One REST answer: its rows and its 1-based number within the query. */
export interface QueryPage {
  rows: Array<Record<string, unknown>>;
  pageNumber: number;
  totalSize: number;
}

/**
 * Yields every page of a query, one request each. jsforce's autoFetch stops silently at
 * maxFetch (jsforce issue 1385), so the chain is followed here, and checked: a page that says
 * `done=false` without a `nextRecordsUrl`, or a chain that ends short of the first `totalSize`,
 * is an UpstreamError thrown before that page is yielded, so no cursor covers it.
 */
export async function* queryPages(
  session: SalesforceSession,
  soql: string,
  pageSize: number,
  what: string,
  signal: AbortSignal,
): AsyncGenerator<QueryPage> {
  const headers = { 'Sforce-Query-Options': `batchSize=${pageSize}` };
  let url = `${session.dataPath}/query?q=${encodeURIComponent(soql)}`;
  let totalSize: number | undefined;
  let received = 0;
  for (let pageNumber = 1; ; pageNumber++) {
    const { body } = await session.send<QueryResponse>(
      { method: 'GET', url, headers },
      what,
      signal,
    );
    totalSize ??= body.totalSize;
    received += body.records.length;
    if (!body.done && !body.nextRecordsUrl) {
      throw new UpstreamError(
        `${session.label(what)}: page ${pageNumber} says done=false but has no nextRecordsUrl ` +
          `(${received} of ${totalSize} records received)`,
        undefined,
      );
    }
    if (body.done && received !== totalSize) {
      throw new UpstreamError(
        `${session.label(what)}: query ended after ${received} records but announced ` +
          `totalSize ${totalSize}`,
        undefined,
      );
    }
    yield { rows: body.records, pageNumber, totalSize };
    if (body.done) return;
    url = body.nextRecordsUrl!;
  }
}
