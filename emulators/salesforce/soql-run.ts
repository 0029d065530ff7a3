/** Runs a parsed SOQL query against an in-memory table, with Salesforce's type rules. */
import { SalesforceApiError } from './api-error';
import type { Expr, Literal, ParsedQuery } from './soql-parse';
import {
  isNumeric,
  type FieldSpec,
  type FieldValue,
  type SObjectTable,
  type StoredRecord,
} from './store';

/** The matching records, sorted and limited, plus the canonical names of the selected fields. */
export interface QueryResult {
  fields: FieldSpec[];
  rows: StoredRecord[];
}

/**
 * Filters, sorts and limits. `includeDeleted` is queryAll: records in the recycle bin match too.
 * Unknown fields are INVALID_FIELD; a literal of the wrong kind (a quoted datetime, a JS Date
 * string) is MALFORMED_QUERY.
 */
export function runQuery(
  soql: string,
  query: ParsedQuery,
  table: SObjectTable,
  includeDeleted: boolean,
): QueryResult {
  const fields = query.select === 'count' ? [] : query.select.map((name) => resolve(table, name));
  if (query.where) checkTypes(soql, query.where, table);
  const order = query.orderBy.map((o) => ({ field: resolve(table, o.field).name, desc: o.desc }));

  let rows = [...table.records.values()].filter(
    (r) =>
      (includeDeleted || r.get('IsDeleted') !== true) &&
      (!query.where || test(query.where, r, table)),
  );
  rows.sort((a, b) => {
    for (const { field, desc } of order) {
      const c = compareValues(a.get(field) ?? null, b.get(field) ?? null);
      if (c !== 0) return desc ? -c : c;
    }
    return 0;
  });
  if (query.limit !== undefined) rows = rows.slice(0, query.limit);
  return { fields, rows };
}

function resolve(table: SObjectTable, name: string): FieldSpec {
  const field = table.field(name);
  if (!field) {
    throw new SalesforceApiError(
      400,
      'INVALID_FIELD',
      `No such column '${name}' on entity '${table.name}'. If you are attempting to use a custom ` +
        "field, be sure to append the '__c' after the custom field name.",
    );
  }
  return field;
}

function checkTypes(soql: string, expr: Expr, table: SObjectTable): void {
  switch (expr.kind) {
    case 'and':
    case 'or':
      checkTypes(soql, expr.left, table);
      checkTypes(soql, expr.right, table);
      return;
    case 'not':
      return checkTypes(soql, expr.inner, table);
    case 'in':
    case 'compare': {
      const field = resolve(table, expr.field);
      const values = expr.kind === 'in' ? expr.values : [expr.value];
      for (const value of values) checkLiteral(soql, field, value, expr.column);
    }
  }
}

function checkLiteral(soql: string, field: FieldSpec, value: Literal, column: number): void {
  if (value.kind === 'null') return;
  const ok =
    field.type === 'datetime'
      ? value.kind === 'datetime'
      : field.type === 'date'
        ? value.kind === 'date'
        : field.type === 'boolean'
          ? value.kind === 'boolean'
          : isNumeric(field.type)
            ? value.kind === 'number'
            : value.kind === 'string';
  if (ok) return;
  const quoted = value.kind === 'string' ? ' and should not be enclosed in quotes' : '';
  const caret = ' '.repeat(column) + '^';
  throw new SalesforceApiError(
    400,
    'MALFORMED_QUERY',
    `\n${soql}\n${caret}\nERROR at Row:1:Column:${column + 1}\nvalue of filter criterion for ` +
      `field '${field.name}' must be of type ${field.type}${quoted}`,
  );
}

function test(expr: Expr, record: StoredRecord, table: SObjectTable): boolean {
  switch (expr.kind) {
    case 'and':
      return test(expr.left, record, table) && test(expr.right, record, table);
    case 'or':
      return test(expr.left, record, table) || test(expr.right, record, table);
    case 'not':
      return !test(expr.inner, record, table);
    case 'in': {
      const actual = record.get(table.field(expr.field)!.name) ?? null;
      const found = expr.values.some((v) => compareValues(actual, literalValue(v)) === 0);
      return expr.negated ? !found : found;
    }
    case 'compare': {
      const actual = record.get(table.field(expr.field)!.name) ?? null;
      const wanted = literalValue(expr.value);
      if (expr.op === 'LIKE') return like(actual, wanted);
      if (actual === null || wanted === null) {
        const same = actual === wanted;
        return expr.op === '=' ? same : expr.op === '!=' ? !same : false;
      }
      const c = compareValues(actual, wanted);
      return OPS[expr.op]!(c);
    }
  }
}

const OPS: Record<string, (c: number) => boolean> = {
  '=': (c) => c === 0,
  '!=': (c) => c !== 0,
  '<': (c) => c < 0,
  '<=': (c) => c <= 0,
  '>': (c) => c > 0,
  '>=': (c) => c >= 0,
};

function literalValue(literal: Literal): FieldValue {
  return literal.kind === 'null' ? null : literal.value;
}

function like(actual: FieldValue, pattern: FieldValue): boolean {
  if (typeof actual !== 'string' || typeof pattern !== 'string') return false;
  const escaped = pattern
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/%/g, '.*')
    .replace(/_/g, '.');
  return new RegExp(`^${escaped}$`, 'is').test(actual);
}

/** Nulls first, then natural order; strings compare case-insensitively as SOQL does. */
function compareValues(a: FieldValue, b: FieldValue): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  if (typeof a === 'string' && typeof b === 'string') {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    return x < y ? -1 : x > y ? 1 : a < b ? -1 : a > b ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
