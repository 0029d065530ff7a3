import { ConfigError } from '../../connectors/errors';

/**
 * A tiny expression language for `derive` recipes, parsed once and evaluated per row without
 * eval: column names (bare, or "in double quotes"), 'string literals' ('' escapes a quote),
 * whole numbers, and the functions below. A missing column is blank.
 *
 *   concat(lower(first_name), ' ', upper(substring(last_name, 1, 1)))
 */
export type Expression =
  | { kind: 'column'; name: string }
  | { kind: 'literal'; value: string }
  | { kind: 'call'; fn: FunctionName; args: Expression[] };

const FUNCTIONS = {
  concat: { min: 1, max: Infinity },
  coalesce: { min: 1, max: Infinity },
  lower: { min: 1, max: 1 },
  upper: { min: 1, max: 1 },
  trim: { min: 1, max: 1 },
  /** substring(text, start, length?): 1-based start, as in SQL. */
  substring: { min: 2, max: 3 },
} as const;
type FunctionName = keyof typeof FUNCTIONS;

/** Longest expression accepted: a derive recipe is a formula, not a program. */
const MAX_LENGTH = 2000;
const MAX_DEPTH = 32;

type Token =
  { t: 'ident' | 'string' | 'number'; v: string; at: number } | { t: '(' | ')' | ','; at: number };

/** Parses an expression; throws ConfigError naming `where` and the position of a mistake. */
export function parseExpression(text: string, where: string): Expression {
  if (text.length > MAX_LENGTH)
    throw new ConfigError(`${where}: expression longer than ${MAX_LENGTH}`);
  const tokens = tokenize(text, where);
  let pos = 0;
  const fail = (message: string, at = tokens[pos]?.at ?? text.length): never => {
    throw new ConfigError(`${where}: ${message} at character ${at + 1}`);
  };
  const parse = (depth: number): Expression => {
    if (depth > MAX_DEPTH) fail('expression nested too deeply');
    const token = tokens[pos++];
    if (token === undefined) return fail('unexpected end of expression', text.length);
    if (token.t === 'string' || token.t === 'number') return { kind: 'literal', value: token.v };
    if (token.t !== 'ident') return fail(`unexpected "${token.t}"`, token.at);
    if (tokens[pos]?.t !== '(') return { kind: 'column', name: token.v };
    const fn = token.v.toLowerCase();
    if (!Object.hasOwn(FUNCTIONS, fn)) fail(`unknown function "${token.v}"`, token.at);
    pos += 1;
    const args: Expression[] = [];
    if (tokens[pos]?.t === ')') pos += 1;
    else {
      for (;;) {
        args.push(parse(depth + 1));
        const next = tokens[pos++];
        if (next?.t === ')') break;
        if (next?.t !== ',') fail('expected "," or ")"', next?.at);
      }
    }
    const arity = FUNCTIONS[fn as FunctionName];
    if (args.length < arity.min || args.length > arity.max) {
      fail(
        `${fn} takes ${arity.min === arity.max ? arity.min : `at least ${arity.min}`} arguments`,
        token.at,
      );
    }
    return { kind: 'call', fn: fn as FunctionName, args };
  };
  const expression = parse(0);
  if (pos < tokens.length) fail('unexpected text after the expression');
  return expression;
}

/** The value of an expression on one row; blank values are ''. */
export function evaluate(expression: Expression, values: Record<string, string>): string {
  switch (expression.kind) {
    case 'literal':
      return expression.value;
    case 'column':
      return values[expression.name] ?? '';
    case 'call': {
      const args = expression.args.map((arg) => evaluate(arg, values));
      return apply(expression.fn, args);
    }
  }
}

/** The columns an expression reads. */
export function columnsOf(expression: Expression): string[] {
  if (expression.kind === 'column') return [expression.name];
  if (expression.kind === 'literal') return [];
  return [...new Set(expression.args.flatMap(columnsOf))];
}

function apply(fn: FunctionName, args: string[]): string {
  const first = args[0] ?? '';
  switch (fn) {
    case 'concat':
      return args.join('');
    case 'coalesce':
      return args.find((a) => a.trim() !== '') ?? '';
    case 'lower':
      return first.toLowerCase();
    case 'upper':
      return first.toUpperCase();
    case 'trim':
      return first.trim();
    case 'substring': {
      // Code points, not UTF-16 units, so an accent or emoji is never cut in half.
      const chars = [...first];
      const start = Math.max(1, toInt(args[1]));
      const length = args[2] === undefined ? chars.length : Math.max(0, toInt(args[2]));
      return chars.slice(start - 1, start - 1 + length).join('');
    }
  }
}

function toInt(text: string | undefined): number {
  const n = Number(text);
  return Number.isFinite(n) ? Math.trunc(n) : 0;
}

function tokenize(text: string, where: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ t: c, at: i });
      i += 1;
    } else if (c === "'" || c === '"') {
      const start = i;
      let value = '';
      for (i += 1; ; i += 1) {
        if (i >= text.length)
          throw new ConfigError(`${where}: unclosed ${c} at character ${start + 1}`);
        if (text[i] === c && text[i + 1] === c) {
          value += c;
          i += 1;
        } else if (text[i] === c) break;
        else value += text[i];
      }
      i += 1;
      tokens.push({ t: c === "'" ? 'string' : 'ident', v: value, at: start });
    } else if (/[0-9-]/.test(c)) {
      const match = /^-?\d+/.exec(text.slice(i));
      if (!match) throw new ConfigError(`${where}: unexpected "${c}" at character ${i + 1}`);
      tokens.push({ t: 'number', v: match[0], at: i });
      i += match[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const match = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(i))!;
      tokens.push({ t: 'ident', v: match[0], at: i });
      i += match[0].length;
    } else {
      throw new ConfigError(`${where}: unexpected "${c}" at character ${i + 1}`);
    }
  }
  return tokens;
}
