/**
 * A parser for the SOQL subset the emulator answers:
 * `SELECT f, ... | COUNT() FROM Object [WHERE expr] [ORDER BY f [ASC|DESC], ...] [LIMIT n]`,
 * where `expr` combines comparisons (`= != <> < <= > >=`, `LIKE`, `[NOT] IN (...)`) with AND,
 * OR, NOT and parentheses. Literals are quoted strings, numbers, true/false/null, and unquoted
 * date and datetime literals, as Salesforce requires for date fields.
 */

export type Literal =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  | { kind: 'datetime'; value: number; text: string }
  | { kind: 'date'; value: string };

export type Expr =
  | { kind: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'not'; inner: Expr }
  | { kind: 'compare'; field: string; op: string; value: Literal; column: number }
  | { kind: 'in'; field: string; negated: boolean; values: Literal[]; column: number };

export interface ParsedQuery {
  /** Field names as written, or 'count' for `SELECT COUNT()`. */
  select: string[] | 'count';
  from: string;
  where?: Expr;
  orderBy: Array<{ field: string; desc: boolean }>;
  limit?: number;
}

/** A query Salesforce would refuse as MALFORMED_QUERY; `message` mimics its text. */
export class SoqlSyntaxError extends Error {}

type Token = {
  type: 'word' | 'string' | 'number' | 'datetime' | 'date' | 'op' | 'punct';
  text: string;
  at: number;
};

const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})/;
const DATE = /^\d{4}-\d{2}-\d{2}(?![\dT])/;
const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/;
const WORD = /^[A-Za-z_][A-Za-z0-9_.]*/;
const OPERATOR = /^(<=|>=|!=|<>|=|<|>)/;

/** Parses one query; throws SoqlSyntaxError with Salesforce's row/column message. */
export function parseSoql(soql: string): ParsedQuery {
  const tokens = tokenize(soql);
  return new Parser(soql, tokens).query();
}

function tokenize(soql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < soql.length) {
    const rest = soql.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const match =
      match1('datetime', DATETIME, rest) ??
      match1('date', DATE, rest) ??
      match1('number', NUMBER, rest) ??
      match1('word', WORD, rest) ??
      match1('op', OPERATOR, rest) ??
      (/^[(),]/.test(rest) ? { type: 'punct' as const, text: rest[0]! } : undefined);
    if (match) {
      tokens.push({ ...match, at: i });
      i += match.text.length;
      continue;
    }
    if (rest[0] === "'") {
      const { text, length } = readString(soql, i);
      tokens.push({ type: 'string', text, at: i });
      i += length;
      continue;
    }
    throw syntaxError(soql, i, `unexpected token: '${rest[0]}'`);
  }
  return tokens;
}

function match1(type: Token['type'], re: RegExp, rest: string) {
  const m = re.exec(rest);
  return m ? { type, text: m[0] } : undefined;
}

function readString(soql: string, start: number): { text: string; length: number } {
  let out = '';
  for (let i = start + 1; i < soql.length; i++) {
    const c = soql[i]!;
    if (c === '\\' && i + 1 < soql.length) {
      const next = soql[++i]!;
      out += next === 'n' ? '\n' : next === 't' ? '\t' : next;
    } else if (c === "'") {
      return { text: out, length: i - start + 1 };
    } else out += c;
  }
  throw syntaxError(soql, start, 'unterminated string literal');
}

/** The message layout Salesforce uses: the query, a caret, then row/column and the reason. */
function syntaxError(soql: string, at: number, reason: string): SoqlSyntaxError {
  const caret = ' '.repeat(Math.max(0, at)) + '^';
  return new SoqlSyntaxError(`\n${soql}\n${caret}\nERROR at Row:1:Column:${at + 1}\n${reason}`);
}

class Parser {
  private pos = 0;

  constructor(
    private readonly soql: string,
    private readonly tokens: Token[],
  ) {}

  query(): ParsedQuery {
    this.keyword('SELECT');
    const select = this.selectList();
    this.keyword('FROM');
    const from = this.word();
    const query: ParsedQuery = { select, from, orderBy: [] };
    if (this.acceptKeyword('WHERE')) query.where = this.orExpr();
    if (this.acceptKeyword('ORDER')) {
      this.keyword('BY');
      do {
        const field = this.word();
        const desc = this.acceptKeyword('DESC');
        if (!desc) this.acceptKeyword('ASC');
        query.orderBy.push({ field, desc });
      } while (this.acceptPunct(','));
    }
    if (this.acceptKeyword('LIMIT')) {
      const token = this.next();
      if (token?.type !== 'number') throw this.error(token, 'expecting a number for LIMIT');
      query.limit = Number(token.text);
    }
    const extra = this.tokens[this.pos];
    if (extra) throw this.error(extra, `unexpected token: ${extra.text}`);
    return query;
  }

  private selectList(): string[] | 'count' {
    const first = this.peek();
    if (first?.type === 'word' && first.text.toUpperCase() === 'COUNT') {
      this.pos++;
      if (!this.acceptPunct('(') || !this.acceptPunct(')')) {
        throw this.error(this.peek(), 'only COUNT() is supported');
      }
      return 'count';
    }
    const fields = [this.word()];
    while (this.acceptPunct(',')) fields.push(this.word());
    return fields;
  }

  private orExpr(): Expr {
    let left = this.andExpr();
    while (this.acceptKeyword('OR')) left = { kind: 'or', left, right: this.andExpr() };
    return left;
  }

  private andExpr(): Expr {
    let left = this.unary();
    while (this.acceptKeyword('AND')) left = { kind: 'and', left, right: this.unary() };
    return left;
  }

  private unary(): Expr {
    if (this.acceptKeyword('NOT')) return { kind: 'not', inner: this.unary() };
    if (this.acceptPunct('(')) {
      const inner = this.orExpr();
      if (!this.acceptPunct(')')) throw this.error(this.peek(), "expecting ')'");
      return inner;
    }
    return this.comparison();
  }

  private comparison(): Expr {
    const fieldToken = this.peek();
    const field = this.word();
    const column = fieldToken?.at ?? 0;
    const negated = this.acceptKeyword('NOT');
    if (this.acceptKeyword('IN')) {
      if (!this.acceptPunct('(')) throw this.error(this.peek(), "expecting '('");
      const values = [this.literal()];
      while (this.acceptPunct(',')) values.push(this.literal());
      if (!this.acceptPunct(')')) throw this.error(this.peek(), "expecting ')'");
      return { kind: 'in', field, negated, values, column };
    }
    if (negated) throw this.error(this.peek(), 'expecting IN after NOT');
    if (this.acceptKeyword('LIKE')) {
      return { kind: 'compare', field, op: 'LIKE', value: this.literal(), column };
    }
    const op = this.next();
    if (op?.type !== 'op') throw this.error(op, `unexpected token: ${op?.text ?? 'end of query'}`);
    return {
      kind: 'compare',
      field,
      op: op.text === '<>' ? '!=' : op.text,
      value: this.literal(),
      column,
    };
  }

  private literal(): Literal {
    const token = this.next();
    if (!token) throw this.error(undefined, 'unexpected end of query');
    if (token.type === 'string') return { kind: 'string', value: token.text };
    if (token.type === 'number') return { kind: 'number', value: Number(token.text) };
    if (token.type === 'date') return { kind: 'date', value: token.text };
    if (token.type === 'datetime') {
      return { kind: 'datetime', value: Date.parse(token.text), text: token.text };
    }
    const word = token.text.toLowerCase();
    if (token.type === 'word' && (word === 'true' || word === 'false')) {
      return { kind: 'boolean', value: word === 'true' };
    }
    if (token.type === 'word' && word === 'null') return { kind: 'null' };
    throw this.error(token, `unexpected token: ${token.text}`);
  }

  private word(): string {
    const token = this.next();
    if (token?.type !== 'word') {
      throw this.error(token, `unexpected token: ${token?.text ?? 'end of query'}`);
    }
    return token.text;
  }

  private keyword(name: string): void {
    if (!this.acceptKeyword(name)) throw this.error(this.peek(), `expecting ${name}`);
  }

  private acceptKeyword(name: string): boolean {
    const token = this.peek();
    if (token?.type === 'word' && token.text.toUpperCase() === name) {
      this.pos++;
      return true;
    }
    return false;
  }

  private acceptPunct(text: string): boolean {
    if (this.peek()?.type === 'punct' && this.peek()?.text === text) {
      this.pos++;
      return true;
    }
    return false;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private next(): Token | undefined {
    return this.tokens[this.pos++];
  }

  private error(token: Token | undefined, reason: string): SoqlSyntaxError {
    return syntaxError(this.soql, token?.at ?? this.soql.length, reason);
  }
}
