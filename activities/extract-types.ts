import type { FieldType } from '../config/schema';
import type { ActivityDeps } from './deps';

export interface ExtractSourceInput {
  runId: string;
  source: string;
}

export interface ExtractSourceResult {
  /** Files for file sources, pages for API and table sources. */
  filesImported: number;
  recordsRead: number;
  recordsRejected: number;
}

/** Field types declared by every dataset this source feeds. */
export function fieldTypesFor(deps: ActivityDeps, source: string): Record<string, FieldType> {
  const out: Record<string, FieldType> = {};
  for (const dataset of Object.values(deps.config.datasets)) {
    if (dataset.sources.includes(source)) Object.assign(out, dataset.fields);
  }
  return out;
}
