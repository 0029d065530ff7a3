import { parse } from 'csv-parse';
import type { CsvError } from 'csv-parse';
import { Readable, pipeline } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

import { BadInputError, ConfigError } from '../errors';

/** The header line of a CSV file: trimmed column names and the delimiter in use. */
export type CsvHeader = { kind: 'header'; columns: string[]; delimiter: string };

/** One data record keyed by header name; `line` is the 1-based line where the record starts. */
export type CsvRow = { kind: 'row'; line: number; values: Record<string, string> };

/** A record that cannot be used, with the 1-based line where it starts and why. */
export type CsvReject = { kind: 'reject'; line: number; reason: string };

/** What {@link readCsv} yields after the header. */
export type CsvItem = CsvRow | CsvReject;

/** Options for {@link readCsv}. */
export interface ReadCsvOptions {
  /** Named in error messages. */
  fileName: string;
  /** Field delimiter; detected from the header line when absent. */
  delimiter?: string;
  /** Byte encoding of the input; UTF-8 by default. A BOM always wins. */
  encoding?: BufferEncoding;
  /** Quote character; `"` by default. */
  quote?: string;
}

/** Candidates for delimiter detection; on a tie the earlier one wins. */
export const DELIMITER_CANDIDATES = [',', ';', '\t', '|'] as const;

// The header line is buffered to detect the delimiter; a "header" longer than this is not CSV.
const MAX_HEADER_CHARS = 1024 * 1024;

// An unclosed quote makes the parser buffer the rest of the file as one field. No customer record
// is this large, so past this many unparsed bytes the file is refused instead of exhausting memory.
const MAX_OPEN_RECORD_BYTES = 16 * 1024 * 1024;

type Chunk = Buffer | string;
type ParsedRecord = { record: string[]; raw: string };

/**
 * Streams a CSV file: yields the header first, then one row or reject per record, in file order.
 *
 * Memory stays flat: only the header line is buffered before parsing. A record with the wrong
 * number of columns or broken quoting is yielded as a reject and parsing continues; values are
 * returned untrimmed. Throws {@link BadInputError} for a file with no header, duplicate column
 * names, or a record larger than 16 MiB (an unclosed quote), and {@link ConfigError} for an
 * unusable delimiter. The input stream is destroyed when the generator finishes or is abandoned.
 */
export async function* readCsv(
  input: Readable,
  opts: ReadCsvOptions,
): AsyncGenerator<CsvHeader | CsvItem> {
  const source = input[Symbol.asyncIterator]() as AsyncIterator<Chunk>;
  const encoding = opts.encoding ?? 'utf8';
  const quote = opts.quote ?? '"';
  let feed: Readable | undefined;
  try {
    if (quote.length !== 1 || '\r\n'.includes(quote)) {
      throw new ConfigError(
        `CSV quote for ${opts.fileName} must be one character, not a line break`,
      );
    }
    if (opts.delimiter !== undefined && !isUsableDelimiter(opts.delimiter, quote)) {
      const rule = 'must be one character other than the quote or a line break';
      throw new ConfigError(`CSV delimiter for ${opts.fileName} ${rule}`);
    }
    const prefix = await readFirstLine(source, encoding);
    const delimiter = opts.delimiter ?? detectDelimiter(prefix.text, quote);

    // relax_quotes keeps the parser in step after a stray quote (strict mode stays inside the
    // quoted field and swallows the rest of the file); quoting is checked on each raw record
    // instead. Empty lines come through as records and are dropped here, which keeps the line
    // count exact without the `info` option, which costs a third of the parsing time.
    const parser = parse({
      bom: true,
      delimiter,
      encoding,
      // RFC 4180 escapes a quote by doubling it, whatever the quote character is.
      escape: quote,
      quote,
      raw: true,
      record_delimiter: ['\r\n', '\n'],
      relax_column_count: true,
      relax_quotes: true,
      skip_records_with_error: true,
    });
    const skipped: CsvError[] = [];
    parser.on('skip', (err: CsvError) => skipped.push(err));
    feed = Readable.from(feedParser(prefix.chunks, source, parser.info, opts.fileName));
    pipeline(feed, parser, () => undefined);

    const lines = new LineTracker();
    let records = 0;
    let columns: string[] | undefined;
    for await (const parsed of parser as AsyncIterable<ParsedRecord>) {
      yield* drainSkipped(skipped, ++records, lines);
      const line = lines.next(parsed.record);
      if (isEmptyLine(parsed, quote)) continue;
      if (columns === undefined) {
        columns = headerColumns(parsed.record, opts.fileName);
        yield { kind: 'header', columns, delimiter };
        continue;
      }
      yield toItem(parsed, line, columns, delimiter, quote, encoding === 'utf8');
    }
    if (columns === undefined) throw new BadInputError(`${opts.fileName} has no header line`);
    yield* drainSkipped(skipped, Infinity, lines);
  } finally {
    feed?.destroy();
    input.destroy();
  }
}

function isUsableDelimiter(delimiter: string, quote: string): boolean {
  return delimiter.length === 1 && delimiter !== quote && !'\r\n'.includes(delimiter);
}

/** Finds the delimiter that occurs most often outside quotes in a header line; `,` by default. */
export function detectDelimiter(headerLine: string, quote = '"'): string {
  const counts = new Map<string, number>();
  let quoted = false;
  for (const ch of headerLine) {
    if (ch === quote) quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  let best: string = DELIMITER_CANDIDATES[0];
  for (const candidate of DELIMITER_CANDIDATES) {
    if ((counts.get(candidate) ?? 0) > (counts.get(best) ?? 0)) best = candidate;
  }
  return best;
}

/** Reads chunks until the first line break (or 1 MiB, or the end) and returns them undecoded. */
async function readFirstLine(
  source: AsyncIterator<Chunk>,
  encoding: BufferEncoding,
): Promise<{ chunks: Chunk[]; text: string }> {
  const decoder = new StringDecoder(encoding);
  const chunks: Chunk[] = [];
  let text = '';
  while (!/[\r\n]/.test(text) && text.length < MAX_HEADER_CHARS) {
    const next = await source.next();
    if (next.done === true) break;
    chunks.push(next.value);
    text += typeof next.value === 'string' ? next.value : decoder.write(next.value);
  }
  return { chunks, text };
}

/** Replays the buffered header chunks, then the rest of the input, refusing runaway records. */
async function* feedParser(
  prefix: Chunk[],
  source: AsyncIterator<Chunk>,
  progress: { readonly bytes: number },
  fileName: string,
): AsyncGenerator<Chunk> {
  let fedBytes = 0;
  for (const chunk of prefix) {
    fedBytes += Buffer.byteLength(chunk);
    yield chunk;
  }
  for (;;) {
    const next = await source.next();
    if (next.done === true) return;
    fedBytes += Buffer.byteLength(next.value);
    // The parser only advances `bytes` at field and record ends, so the gap is one open record.
    if (fedBytes - progress.bytes > MAX_OPEN_RECORD_BYTES) {
      throw new BadInputError(`${fileName} has a record over 16 MiB; is a quote left unclosed?`);
    }
    yield next.value;
  }
}

/**
 * Counts physical lines. csv-parse's own `lines` counts a CRLF inside a quoted field twice, so
 * lines are derived from the line breaks kept in the values of each record, empty lines included.
 */
class LineTracker {
  private lastLine = 0;

  /** Returns the line where the next record starts and moves past that record. */
  next(values: string[]): number {
    const start = this.peek();
    this.lastLine = start + values.reduce((n, value) => n + countLineBreaks(value), 0);
    return start;
  }

  /** Returns the line where the next record starts, without moving. */
  peek(): number {
    return this.lastLine + 1;
  }
}

function isEmptyLine(parsed: ParsedRecord, quote: string): boolean {
  // A lone `""` also parses as one empty value, but it is a record, not an empty line.
  return parsed.record.length === 1 && parsed.record[0] === '' && !parsed.raw.includes(quote);
}

function* drainSkipped(
  skipped: CsvError[],
  beforeRecord: number,
  lines: LineTracker,
): Generator<CsvReject> {
  // A skipped record does not count in `records`, so it precedes the record numbered one higher.
  while (skipped.length > 0 && Number(skipped[0]?.records) < beforeRecord) {
    const err = skipped.shift() as CsvError;
    yield { kind: 'reject', line: lines.peek(), reason: skipReason(err) };
  }
}

function skipReason(err: CsvError): string {
  if (err.code === 'CSV_QUOTE_NOT_CLOSED') return 'quote not closed at end of file';
  return `unparseable record (${err.code})`;
}

function headerColumns(record: string[], fileName: string): string[] {
  const columns = record.map((name) => name.trim());
  const duplicate = columns.find((name, i) => columns.indexOf(name) !== i);
  if (duplicate !== undefined) {
    throw new BadInputError(`${fileName} repeats the column name "${duplicate}" in its header`);
  }
  return columns;
}

function toItem(
  parsed: ParsedRecord,
  line: number,
  columns: string[],
  delimiter: string,
  quote: string,
  utf8: boolean,
): CsvItem {
  // Bytes that are not UTF-8 (a Latin-1 export read as UTF-8) decode to U+FFFD; staging them
  // would turn "Åsa" and "Ósa" into the same "�sa" and merge two people.
  if (utf8 && parsed.raw.includes('\uFFFD')) {
    return { kind: 'reject', line, reason: 'not valid UTF-8; set the encoding (e.g. latin1)' };
  }
  const problem =
    findQuoteProblem(parsed.raw, delimiter, quote) ??
    (parsed.record.length === columns.length
      ? undefined
      : `expected ${columns.length} columns, found ${parsed.record.length}`);
  if (problem !== undefined) return { kind: 'reject', line, reason: problem };

  // fromEntries defines own properties, so a column named __proto__ stays a plain value.
  const values = Object.fromEntries(columns.map((name, i) => [name, parsed.record[i] ?? '']));
  return { kind: 'row', line, values };
}

/**
 * Checks RFC 4180 quoting on a record's raw text: a quote may only open a field and close it (a
 * doubled quote inside is an escaped quote). Returns a reason, or undefined when the quoting is
 * sound. Skipped empty lines before the record and its line break are ignored.
 */
export function findQuoteProblem(raw: string, delimiter: string, quote = '"'): string | undefined {
  if (!raw.includes(quote)) return undefined;
  const text = raw.replace(/^[\r\n]+/, '').replace(/[\r\n]+$/, '');
  let field = 1;
  let atFieldStart = true;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch !== quote) continue;
      if (text[i + 1] === quote) {
        i++;
        continue;
      }
      quoted = false;
      const after = text[i + 1];
      if (after !== undefined && after !== delimiter) {
        return `unexpected character after closing quote in column ${field}`;
      }
    } else if (ch === delimiter) {
      field++;
      atFieldStart = true;
    } else if (ch === quote && !atFieldStart) {
      return `quote inside unquoted value in column ${field}`;
    } else {
      quoted = ch === quote;
      atFieldStart = false;
    }
  }
  return quoted ? `quote not closed in column ${field}` : undefined;
}

function countLineBreaks(value: string): number {
  let count = 0;
  for (let i = value.indexOf('\n'); i !== -1; i = value.indexOf('\n', i + 1)) count++;
  return count;
}
