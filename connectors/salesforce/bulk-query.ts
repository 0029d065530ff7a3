/** Bulk API 2.0 query jobs: create, check, and read result pages by locator. */
import { parse } from 'csv-parse/sync';
import { BadInputError } from '../errors';
import type { SalesforceSession } from './session';

export type BulkJobState = 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Aborted' | 'Failed';

/** One CSV page of results and the locator of the next one (null after the last). */
export interface BulkResultPage {
  rows: Array<Record<string, string>>;
  nextLocator: string | null;
}

/**
 * A thin client over `/jobs/query`. Result pages are requested one at a time with `maxRecords`
 * and the `Sforce-Locator` header of the previous answer, so a saved locator resumes a load.
 */
export class BulkQueryClient {
  constructor(
    private readonly session: SalesforceSession,
    private readonly what: string,
  ) {}

  async create(soql: string, signal: AbortSignal): Promise<string> {
    const { body } = await this.session.send<{ id: string }>(
      {
        method: 'POST',
        url: this.path(''),
        body: JSON.stringify({ operation: 'query', query: soql }),
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
      },
      this.what,
      signal,
    );
    return body.id;
  }

  async state(jobId: string, signal: AbortSignal): Promise<BulkJobState> {
    const { body } = await this.session.send<{ state: BulkJobState }>(
      { method: 'GET', url: this.path(`/${jobId}`) },
      this.what,
      signal,
    );
    return body.state;
  }

  async results(
    jobId: string,
    locator: string | null,
    maxRecords: number,
    signal: AbortSignal,
  ): Promise<BulkResultPage> {
    const after = locator ? `&locator=${encodeURIComponent(locator)}` : '';
    const query = `maxRecords=${maxRecords}${after}`;
    const { body, headers } = await this.session.send<string>(
      {
        method: 'GET',
        url: this.path(`/${jobId}/results?${query}`),
        headers: { Accept: 'text/csv' },
      },
      this.what,
      signal,
      'text/plain',
    );
    const next = headers['sforce-locator'];
    let rows: Array<Record<string, string>>;
    try {
      rows = parse(body, { columns: true, skip_empty_lines: true });
    } catch (error) {
      const where = this.session.label(`${this.what}, job ${jobId}`);
      throw new BadInputError(`${where}: result page is not valid CSV`, error);
    }
    return { rows, nextLocator: next && next !== 'null' ? next : null };
  }

  /** Removes a finished job; failures are ignored because the job expires on its own. */
  async remove(jobId: string, signal: AbortSignal): Promise<void> {
    await this.session
      .send({ method: 'DELETE', url: this.path(`/${jobId}`) }, this.what, signal)
      .catch(() => undefined);
  }

  private path(rest: string): string {
    return `${this.session.dataPath}/jobs/query${rest}`;
  }
}
