/** Where a JSON text first goes wrong: offset in characters, and 1-based line and column. */
export interface JsonSyntaxError {
  position: number;
  line: number;
  column: number;
  /** True when the text ended before the JSON value did (a truncated upload). */
  truncated: boolean;
}

export type JsonParse = { ok: true; value: unknown } | { ok: false; error: JsonSyntaxError };

/**
 * Parses JSON and, when it is invalid, says where. V8's messages give a position only for some
 * errors and quote the input for others, which would echo personal data back in the answer and
 * the log, so the position comes from a scan of our own that only runs on the error path.
 */
export function parseJson(text: string): JsonParse {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    const position = firstErrorOffset(text);
    const before = text.slice(0, position);
    const line = before.split('\n').length;
    const column = position - (before.lastIndexOf('\n') + 1) + 1;
    return { ok: false, error: { position, line, column, truncated: position >= text.length } };
  }
}

/** A human description for an answer or a log, never quoting the text itself. */
export function describeJsonError(error: JsonSyntaxError): string {
  const where = `position ${error.position} (line ${error.line}, column ${error.column})`;
  return error.truncated ? `JSON ends too early at ${where}` : `invalid JSON at ${where}`;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

class Stop {
  constructor(readonly at: number) {}
}

/** Offset of the first character that is not valid JSON (RFC 8259), or text.length. */
function firstErrorOffset(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw new Stop(Math.min(i, text.length));
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i += 1;
  };
  const string = (): void => {
    i += 1;
    for (;;) {
      if (i >= text.length) fail();
      const c = text[i]!;
      if (c === '"') return void (i += 1);
      if (c < ' ') fail();
      if (c === '\\') {
        i += 1;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 4;
        } else if (!ESCAPES.has(text[i] ?? '')) fail();
      }
      i += 1;
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') return container('}', true);
    if (c === '[') return container(']', false);
    if (c === '"') return string();
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) return void (i += word.length);
    }
    NUMBER.lastIndex = i;
    if (!NUMBER.test(text)) fail();
    i = NUMBER.lastIndex;
  };
  const container = (close: string, isObject: boolean): void => {
    i += 1;
    ws();
    if (text[i] === close) return void (i += 1);
    for (;;) {
      if (isObject) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i += 1;
      }
      value();
      ws();
      if (text[i] === close) return void (i += 1);
      if (text[i] !== ',') fail();
      i += 1;
    }
  };

  try {
    value();
    ws();
    return i < text.length ? i : text.length;
  } catch (stop) {
    if (stop instanceof Stop) return stop.at;
    // Nesting deep enough to exhaust the stack: the error is somewhere past what we reached.
    return i;
  }
}
