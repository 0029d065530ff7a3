import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

import { ConfigError } from '../errors';
import { DELIMITER_CANDIDATES, readCsv } from './csv-reader';
import { hasDecimalComma, parseLocaleNumber } from './number-locale';

/** Layouts an orders file can have. */
export type OrdersFormat = 'csv' | 'cdnow';

/**
 * CDNOW's layout: whitespace-separated customer id, day as yyyymmdd, quantity and amount, e.g.
 * `00001 19970101 1 11.77`, with or without a header line. These are its own column names.
 */
export const CDNOW_COLUMNS = ['customer_id', 'date', 'number_of_cds', 'dollar_value'] as const;

/** Which CSV columns hold the order fields. */
export interface OrderColumns {
  customer: string;
  date: string;
  amount: string;
  /** Optional; lines that share an order id count as one order. */
  order?: string;
}

/** The CSV column names used when none are given. */
export const DEFAULT_ORDER_COLUMNS: OrderColumns = {
  customer: 'customer_id',
  date: 'date',
  amount: 'amount',
};

/** Options for {@link readOrders}. */
export interface ReadOrdersOptions {
  /** Named in messages. */
  fileName: string;
  /** Detected from the first line when absent (see {@link detectOrdersFormat}). */
  format?: OrdersFormat;
  /** CSV only. */
  columns?: Partial<OrderColumns>;
  /** CSV only; detected from the header when absent. */
  delimiter?: string;
  encoding?: BufferEncoding;
  /** CSV only: amounts are written as in this locale (`de-DE`: `1.234,50`). */
  numberLocale?: string;
}

/** One good order line; `date` is the UTC day `YYYY-MM-DD`. */
export interface OrderLine {
  kind: 'order';
  line: number;
  orderId?: string;
  customerId: string;
  date: string;
  amount: number;
  /** CDNOW's number of CDs on the line; CSV files do not carry it. */
  quantity?: number;
}

/** A line that was skipped, with the 1-based line, the field at fault (when one is) and why. */
export interface OrderReject {
  kind: 'reject';
  line: number;
  field?: string;
  reason: string;
}

/** What {@link readOrders} yields: first the format in use, then one item per data line. */
export type OrdersItem = { kind: 'format'; format: OrdersFormat } | OrderLine | OrderReject;

// A plain decimal: no thousands separators or currency signs, which are ambiguous across locales.
const AMOUNT = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

// A time without a zone is UTC, as for updated-at values elsewhere in Braid.
const ISO_DATE_TIME = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d(:\d\d(\.\d+)?)?)(Z|[+-]\d\d:\d\d)?$/i;

const DATE_FORMATS = 'not a date (YYYY-MM-DD, yyyymmdd or ISO 8601)';

/**
 * Streams an orders file, yielding its format first and then one order or reject per data line,
 * in file order. Bad lines are skipped with the field at fault; values are never quoted in the
 * reason, since they can be personal data. Throws {@link ConfigError} when a CSV file lacks a
 * named column, and BadInputError (from readCsv) when it has no header.
 */
export async function* readOrders(
  input: Readable,
  opts: ReadOrdersOptions,
): AsyncGenerator<OrdersItem> {
  const source = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const peeked = await peekFirstLine(source, opts.encoding ?? 'utf8');
  const format = opts.format ?? detectOrdersFormat(peeked.text);
  yield { kind: 'format', format };

  const replay = Readable.from(replayed(peeked.chunks, source));
  try {
    if (format === 'cdnow') yield* readCdnow(replay, opts.encoding ?? 'utf8');
    else yield* readOrdersCsv(replay, opts);
  } finally {
    replay.destroy();
    input.destroy();
  }
}

/**
 * Tells the two layouts apart by the first line: CDNOW's fields are separated by spaces only,
 * so a line with none of the CSV delimiters but several space-separated fields is CDNOW.
 */
export function detectOrdersFormat(firstLine: string): OrdersFormat {
  const line = firstLine.replace(/^\uFEFF/, '').split(/\r?\n/)[0] ?? '';
  const hasCsvDelimiter = DELIMITER_CANDIDATES.some((candidate) => line.includes(candidate));
  return !hasCsvDelimiter && line.trim().split(/ +/).length >= 4 ? 'cdnow' : 'csv';
}

/** Totals of one file: lines read (good and bad), rejected lines, and the format used. */
export interface OrdersFileSummary {
  fileName: string;
  format: OrdersFormat;
  rowsRead: number;
  rejected: number;
}

/**
 * Reads an orders file from disk and hands each good line to `onOrder`; returns the totals and
 * every reject. Only the rejects are kept, so memory follows what the caller keeps.
 */
export async function readOrdersFile(
  file: string,
  opts: Omit<ReadOrdersOptions, 'fileName'>,
  onOrder: (order: OrderLine) => void,
): Promise<OrdersFileSummary & { rejects: OrderReject[] }> {
  const fileName = path.basename(file);
  const rejects: OrderReject[] = [];
  let format: OrdersFormat = 'csv';
  let rowsRead = 0;
  for await (const item of readOrders(createReadStream(file), { ...opts, fileName })) {
    if (item.kind === 'format') {
      format = item.format;
      continue;
    }
    rowsRead++;
    if (item.kind === 'order') onOrder(item);
    else rejects.push(item);
  }
  return { fileName, format, rowsRead, rejected: rejects.length, rejects };
}

/** `file:line [field] reason`, the form row errors take in Braid's reports. */
export function describeOrderReject(fileName: string, reject: OrderReject): string {
  const field = reject.field === undefined ? '' : ` [${reject.field}]`;
  return `${fileName}:${reject.line}${field} ${reject.reason}`;
}

async function* readCdnow(input: Readable, encoding: BufferEncoding): AsyncGenerator<OrdersItem> {
  let line = 0;
  for await (const raw of splitLines(input, encoding)) {
    line++;
    const text = (line === 1 ? raw.replace(/^\uFEFF/, '') : raw).trim();
    if (text === '') continue;
    const fields = text.split(/\s+/);
    // The header is optional (the original file has none); a first line whose date is not
    // eight digits is taken for one.
    if (line === 1 && !/^\d{8}$/.test(fields[1] ?? '')) continue;
    yield cdnowItem(fields, line);
  }
}

/** Decodes a byte stream and yields its lines without their \n or \r\n ends. */
async function* splitLines(input: Readable, encoding: BufferEncoding): AsyncGenerator<string> {
  const decoder = new StringDecoder(encoding);
  let rest = '';
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    rest += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    const lines = rest.split('\n');
    rest = lines.pop() as string;
    for (const line of lines) yield line.endsWith('\r') ? line.slice(0, -1) : line;
  }
  rest += decoder.end();
  if (rest !== '') yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
}

function cdnowItem(fields: string[], line: number): OrderLine | OrderReject {
  if (fields.length !== CDNOW_COLUMNS.length) {
    return { kind: 'reject', line, reason: `expected 4 fields, found ${fields.length}` };
  }
  const [customerId, yyyymmdd, quantityText, amountText] = fields as [string, ...string[]];
  const date = /^\d{8}$/.test(yyyymmdd ?? '') ? compactDay(yyyymmdd as string) : undefined;
  if (date === undefined) return reject(line, 'date', 'not a yyyymmdd date');
  if (!/^\d+$/.test(quantityText ?? '')) return reject(line, 'number_of_cds', 'not a whole number');
  if (!AMOUNT.test(amountText ?? '')) return reject(line, 'dollar_value', 'not a number');

  const [amount, quantity] = [Number(amountText), Number(quantityText)];
  return { kind: 'order', line, customerId, date, amount, quantity };
}

async function* readOrdersCsv(
  input: Readable,
  opts: ReadOrdersOptions,
): AsyncGenerator<OrdersItem> {
  const columns = { ...DEFAULT_ORDER_COLUMNS, ...definedOnly(opts.columns ?? {}) };
  const { fileName, delimiter, encoding } = opts;
  for await (const item of readCsv(input, { fileName, delimiter, encoding })) {
    if (item.kind === 'header') {
      checkColumns(item.columns, columns, opts.fileName);
      continue;
    }
    if (item.kind === 'reject') {
      yield { kind: 'reject', line: item.line, reason: item.reason };
      continue;
    }
    yield csvItem(item.values, item.line, columns, opts.numberLocale);
  }
}

function csvItem(
  values: Record<string, string>,
  line: number,
  columns: OrderColumns,
  numberLocale: string | undefined,
): OrderLine | OrderReject {
  const customerId = (values[columns.customer] ?? '').trim();
  if (customerId === '') return reject(line, columns.customer, 'missing');
  const date = toDay((values[columns.date] ?? '').trim());
  if (date === undefined) return reject(line, columns.date, DATE_FORMATS);
  const amountText = (values[columns.amount] ?? '').trim();
  const amount = amountOf(amountText, numberLocale);
  if (typeof amount === 'string') return reject(line, columns.amount, amount);

  const order: OrderLine = { kind: 'order', line, customerId, date, amount };
  const orderId = columns.order === undefined ? '' : (values[columns.order] ?? '').trim();
  if (orderId !== '') order.orderId = orderId;
  return order;
}

function reject(line: number, field: string, reason: string): OrderReject {
  return { kind: 'reject', line, field, reason };
}

function checkColumns(header: string[], columns: OrderColumns, fileName: string): void {
  const wanted = [columns.customer, columns.date, columns.amount, columns.order];
  const missing = wanted.filter(
    (name): name is string => name !== undefined && !header.includes(name),
  );
  if (missing.length > 0) {
    const names = missing.map((name) => `"${name}"`).join(', ');
    const has = `its columns are ${header.join(', ')}`;
    throw new ConfigError(`${fileName} has no column ${names}; ${has}`);
  }
}

/**
 * The UTC day of a date cell: `YYYY-MM-DD`, `yyyymmdd`, or an ISO 8601 date-time, read as UTC
 * when it has no zone. An instant is reduced to its UTC day, the unit RFM counts in.
 */
function toDay(text: string): string | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return checkDay(text);
  if (/^\d{8}$/.test(text)) return compactDay(text);
  const match = ISO_DATE_TIME.exec(text);
  if (match === null || checkDay(match[1] as string) === undefined) return undefined;
  const ms = Date.parse(`${match[1]}T${match[2]}${match[5] ?? 'Z'}`);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString().slice(0, 10);
}

function compactDay(yyyymmdd: string): string | undefined {
  return checkDay(`${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6)}`);
}

/** The day itself when it exists on the calendar (no 2026-02-30), else undefined. */
function checkDay(isoDay: string): string | undefined {
  const ms = Date.parse(`${isoDay}T00:00:00Z`);
  if (Number.isNaN(ms)) return undefined;
  return new Date(ms).toISOString().slice(0, 10) === isoDay ? isoDay : undefined;
}

function definedOnly(columns: Partial<OrderColumns>): Partial<OrderColumns> {
  return Object.fromEntries(Object.entries(columns).filter(([, value]) => value !== undefined));
}

/** Reads chunks until the first line break (or 64 KiB) without consuming them for the caller. */
async function peekFirstLine(
  source: AsyncIterator<Buffer | string>,
  encoding: BufferEncoding,
): Promise<{ chunks: (Buffer | string)[]; text: string }> {
  const decoder = new StringDecoder(encoding);
  const chunks: (Buffer | string)[] = [];
  let text = '';
  while (!/[\r\n]/.test(text) && text.length < 65_536) {
    const next = await source.next();
    if (next.done === true) break;
    chunks.push(next.value);
    text += typeof next.value === 'string' ? next.value : decoder.write(next.value);
  }
  return { chunks, text };
}

async function* replayed(
  prefix: (Buffer | string)[],
  source: AsyncIterator<Buffer | string>,
): AsyncGenerator<Buffer | string> {
  yield* prefix;
  for (;;) {
    const next = await source.next();
    if (next.done === true) return;
    yield next.value;
  }
}

/** The amount of a CSV line, or why it is not one. */
function amountOf(text: string, numberLocale: string | undefined): number | string {
  if (numberLocale !== undefined) {
    const plain = parseLocaleNumber(text, numberLocale);
    return plain === undefined ? `not a number as written in ${numberLocale}` : Number(plain);
  }
  if (AMOUNT.test(text)) return Number(text);
  return hasDecimalComma(text)
    ? 'not a number (a decimal comma? give --number-locale, e.g. de-DE)'
    : 'not a number';
}
