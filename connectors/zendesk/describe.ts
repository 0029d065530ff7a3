import type { DiscoveredField } from '../source-reader';
import { exportUrl, initialPosition, readExportPage } from './export-position';
import { ZendeskHttp } from './http';
import type { ZendeskReaderOptions } from './reader';

/**
 * Describes a Zendesk object's columns from the first page of its incremental export (from the
 * configured `startTime`), flattened the way the reader flattens records. The fields endpoints
 * (`/user_fields` and friends) list only custom fields, and only by their own keys, so the first
 * page is the one place that shows every column as records actually carry it. A column missing
 * from some records or null in any is nullable. An export with no records yet describes nothing.
 * Costs one export request, retried like the reader's.
 */
export async function describeZendesk(
  opts: ZendeskReaderOptions,
  signal: AbortSignal,
): Promise<DiscoveredField[]> {
  const http = new ZendeskHttp(opts, signal);
  const position = initialPosition(opts.object, opts.startTime);
  const url = exportUrl(http.apiBase, opts.object, position, opts.pageSize);
  const page = readExportPage(opts.object, await http.getJson(url), position, opts.source);

  type Column = { types: Set<string>; texts: string[]; seen: number; nullable: boolean };
  const columns = new Map<string, Column>();
  const records = page.items.filter(
    (item): item is Record<string, unknown> => typeof item === 'object' && item !== null,
  );
  for (const record of records) {
    for (const [name, value] of leaves(record)) {
      const column = columns.get(name) ?? { types: new Set(), texts: [], seen: 0, nullable: false };
      column.seen += 1;
      if (value === null || value === undefined) column.nullable = true;
      else column.types.add(jsonType(value));
      if (typeof value === 'string') column.texts.push(value);
      columns.set(name, column);
    }
  }
  return [...columns].map(([name, column]) => {
    const sourceType = [...column.types].sort().join('|') || 'null';
    return {
      name,
      type: braidType(name, sourceType, column.texts),
      sourceType,
      nullable: column.nullable || column.seen < records.length,
    };
  });
}

/** Leaf values under the dotted names `flattenValues` gives them. */
function leaves(input: Record<string, unknown>, prefix = ''): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [name, value] of Object.entries(input)) {
    const column = prefix ? `${prefix}.${name}` : name;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      out.push(...leaves(value as Record<string, unknown>, column));
    } else out.push([column, value]);
  }
  return out;
}

function jsonType(value: unknown): string {
  return Array.isArray(value) ? 'array' : typeof value;
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Braid's type for a column: by Zendesk's well-known names first, then by the values seen. */
function braidType(name: string, sourceType: string, texts: string[]): string {
  const leaf = name.slice(name.lastIndexOf('.') + 1);
  if (sourceType === 'number') return 'number';
  if (sourceType === 'boolean') return 'boolean';
  if (sourceType !== 'string') return 'string';
  if (leaf === 'email') return 'email';
  if (leaf === 'phone') return 'phone';
  if (texts.length > 0 && texts.every((text) => ISO_INSTANT.test(text))) return 'datetime';
  if (texts.length > 0 && texts.every((text) => ISO_DATE.test(text))) return 'date';
  return 'string';
}
