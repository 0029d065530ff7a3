import type { Readable } from 'node:stream';

import { readCsv } from './csv-reader';
import { readJsonArray, readNdjson, type JsonItem } from './json-records';

/** How a file is written; mirrors the `format` of an SFTP source in the config. */
export type FileFormatOptions =
  | { type: 'csv'; delimiter?: string; quote?: string; encoding?: BufferEncoding }
  | { type: 'json' }
  | { type: 'ndjson' };

/**
 * One record of a file in any format. `position` is what resuming counts: the line for CSV and
 * NDJSON, the record index for a JSON array. `line` is where the record starts, for messages.
 */
export type FileRecord = JsonItem;

/**
 * Streams the records of a file, in file order, whatever its format. CSV headers are consumed
 * here; JSON and NDJSON records are flattened with dotted column names. Rejects (bad quoting,
 * wrong column count, invalid JSON, a non-object) come in order among the rows.
 */
export async function* readFileRecords(
  input: Readable,
  format: FileFormatOptions,
  fileName: string,
): AsyncGenerator<FileRecord> {
  if (format.type === 'json') {
    yield* readJsonArray(input, fileName);
    return;
  }
  if (format.type === 'ndjson') {
    yield* readNdjson(input, fileName);
    return;
  }
  const csv = readCsv(input, {
    fileName,
    delimiter: format.delimiter,
    quote: format.quote,
    encoding: format.encoding,
  });
  for await (const item of csv) {
    if (item.kind === 'header') continue;
    yield { ...item, position: item.line };
  }
}

/** How a record is named in lineage and messages: `file:line`, or `file[index]` for JSON. */
export function recordOrigin(
  format: FileFormatOptions['type'],
  fileName: string,
  record: { position: number; line: number },
): string {
  return format === 'json' ? `${fileName}[${record.position}]` : `${fileName}:${record.line}`;
}
