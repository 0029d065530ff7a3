import { ConfigError } from '../connectors/errors';
import { setCounts } from '../store/runs';
import type { ActivityDeps } from './deps';
import { extractFiles } from './extract-files';
import { extractPages } from './extract-pages';
import type { ExtractSourceInput, ExtractSourceResult } from './extract-types';
import { withFailures } from './failure';
import { openSourceReader } from './source-readers';

export type { ExtractSourceInput, ExtractSourceResult } from './extract-types';

/**
 * Brings a source's new and changed records into staging. Files (SFTP) are imported file by
 * file, resuming by line; APIs and tables are read page by page, resuming from the cursor saved
 * with the last staged page. Webhook sources are staged as they are pushed: nothing to pull.
 */
export async function extractSource(
  deps: ActivityDeps,
  input: ExtractSourceInput,
): Promise<ExtractSourceResult> {
  return withFailures(async () => {
    const config = deps.config.sources[input.source];
    if (!config) throw new ConfigError(`Unknown source "${input.source}"`);
    switch (config.type) {
      case 'sftp':
        return extractFiles(deps, input, config);
      case 'webhook':
        return { filesImported: 0, pagesRead: 0, recordsRead: 0, recordsRejected: 0 };
      default:
        return extractPages(deps, input, openSourceReader(input.source, config));
    }
  });
}

/** Sums the per-source results into the run's counters. */
export async function recordExtractCounts(
  deps: ActivityDeps,
  runId: string,
  results: ExtractSourceResult[],
) {
  await setCounts(deps.db, runId, {
    filesImported: results.reduce((n, r) => n + r.filesImported, 0),
    pagesRead: results.reduce((n, r) => n + r.pagesRead, 0),
    recordsRead: results.reduce((n, r) => n + r.recordsRead, 0),
    recordsRejected: results.reduce((n, r) => n + r.recordsRejected, 0),
  });
}
