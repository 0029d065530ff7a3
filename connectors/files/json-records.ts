import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

import { BadInputError } from '../errors';
import { flattenValues } from '../source-reader';

/**
 * One record of a JSON or NDJSON file, flattened to text columns. `position` counts records for
 * a JSON array (1-based index) and lines for NDJSON; resuming skips positions already done.
 * `line` is the 1-based line where the record starts.
 */
export type JsonRow = {
  kind: 'row';
  position: number;
  line: number;
  values: Record<string, string>;
};

/** A record that cannot be used, where it starts and why; the file goes on. */
export type JsonReject = { kind: 'reject'; position: number; line: number; reason: string };

export type JsonItem = JsonRow | JsonReject;

// Same bound as the CSV reader: past this many bytes an element is refused, not buffered.
const MAX_RECORD_CHARS = 16 * 1024 * 1024;

/**
 * Streams a file holding one top-level JSON array of objects, element by element: only the
 * element being read is in memory. An element that is not an object, or not valid JSON, is a
 * reject and reading goes on with the next one. Throws {@link BadInputError} when the file does
 * not start with `[` or ends before the array closes, naming the file and line.
 */
export async function* readJsonArray(input: Readable, fileName: string): AsyncGenerator<JsonItem> {
  const splitter = new ArraySplitter(fileName);
  try {
    for await (const text of decodeUtf8(input)) yield* splitter.push(text);
    splitter.finish();
  } finally {
    input.destroy();
  }
}

/**
 * Streams an NDJSON file: one JSON object per line; blank lines are skipped. A line that is not
 * a JSON object is a reject naming its line number, and reading goes on.
 */
export async function* readNdjson(input: Readable, fileName: string): AsyncGenerator<JsonItem> {
  let pending = '';
  let line = 0;
  try {
    for await (const text of decodeUtf8(input)) {
      pending += text;
      let end: number;
      while ((end = pending.indexOf('\n')) !== -1) {
        const item = ndjsonItem(pending.slice(0, end), ++line);
        pending = pending.slice(end + 1);
        if (item !== undefined) yield item;
      }
      if (pending.length > MAX_RECORD_CHARS) {
        throw new BadInputError(`${fileName}:${line + 1} is a line over 16 MiB`);
      }
    }
    const last = ndjsonItem(pending, ++line);
    if (last !== undefined) yield last;
  } finally {
    input.destroy();
  }
}

function ndjsonItem(text: string, line: number): JsonItem | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  return toItem(trimmed, line, line);
}

function toItem(text: string, position: number, line: number): JsonItem {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const detail = err instanceof SyntaxError ? err.message.replace(/ in JSON at .*$/, '') : '';
    return { kind: 'reject', position, line, reason: `invalid JSON${detail ? `: ${detail}` : ''}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const found = Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value;
    return { kind: 'reject', position, line, reason: `expected an object, found ${found}` };
  }
  return { kind: 'row', position, line, values: flattenValues(value as Record<string, unknown>) };
}

/** UTF-8 text chunks without a leading BOM; multi-byte characters split across chunks are kept. */
async function* decodeUtf8(input: Readable): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let first = true;
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    let text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (first && text.length > 0) {
      text = text.replace(/^\uFEFF/, '');
      first = false;
    }
    if (text.length > 0) yield text;
  }
  const rest = decoder.end();
  if (rest.length > 0) yield rest;
}

/**
 * Cuts the text of a top-level array into its elements without parsing them: it tracks string
 * and escape state and bracket depth, which is all it takes to find the commas at depth one.
 * Each element is then parsed on its own, so a bad element costs only itself.
 */
class ArraySplitter {
  private state: 'before' | 'between' | 'element' | 'after' = 'before';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private element = '';
  private elementLine = 0;
  private line = 1;
  private index = 0;

  constructor(private readonly fileName: string) {}

  *push(text: string): Generator<JsonItem> {
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (this.state === 'element') {
        if (this.inString) {
          if (this.escaped) this.escaped = false;
          else if (ch === '\\') this.escaped = true;
          else if (ch === '"') this.inString = false;
        } else if (ch === '"') this.inString = true;
        else if (ch === '{' || ch === '[') this.depth++;
        else if (ch === '}' || ch === ']' || ch === ',') {
          if (this.depth > 0 && ch !== ',') this.depth--;
          else if (this.depth === 0) {
            this.element += text.slice(start, i);
            yield this.flush();
            this.state = ch === ',' ? 'between' : 'after';
          }
        }
      } else if (!/\s/.test(ch)) {
        if (this.structural(ch)) {
          this.elementLine = this.line;
          start = i;
          i--;
          continue;
        }
      }
      if (ch === '\n') this.line++;
    }
    if (this.state === 'element') {
      this.element += text.slice(start);
      if (this.element.length > MAX_RECORD_CHARS) {
        throw new BadInputError(`${this.fileName}:${this.elementLine} has a record over 16 MiB`);
      }
    }
  }

  finish(): void {
    if (this.state !== 'after') {
      const where = `${this.fileName}:${this.line}`;
      if (this.state === 'before') throw new BadInputError(`${where}: expected a JSON array`);
      throw new BadInputError(`${where}: the JSON array is not closed`);
    }
  }

  /** Handles a non-blank character outside an element; true when it starts an element. */
  private structural(ch: string): boolean {
    const where = `${this.fileName}:${this.line}`;
    if (this.state === 'before') {
      if (ch !== '[') throw new BadInputError(`${where}: expected a JSON array of objects`);
      this.state = 'between';
    } else if (this.state === 'between') {
      // `[]` is an empty array; a `]` after a comma is tolerated as a trailing comma.
      if (ch === ']') this.state = 'after';
      else if (ch === ',') throw new BadInputError(`${where}: empty element in the JSON array`);
      else {
        this.state = 'element';
        return true;
      }
    } else {
      throw new BadInputError(`${where}: text after the end of the JSON array`);
    }
    return false;
  }

  private flush(): JsonItem {
    const item = toItem(this.element.trim(), ++this.index, this.elementLine);
    this.element = '';
    this.depth = 0;
    return item;
  }
}
