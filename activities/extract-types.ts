import type { FieldType } from '../config/schema';
import type { ActivityDeps } from './deps';

export interface ExtractSourceInput {
  runId: string;
  source: string;
}

export interface ExtractSourceResult {
  filesImported: number;
  /** Pages read from API and table sources. */
  pagesRead: number;
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
