import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';

import { ConfigError } from '../../connectors/errors';
import type {
  OrderLine,
  OrderReject,
  OrdersFileSummary,
} from '../../connectors/files/orders-reader';
import { describeOrderReject, readOrdersFile } from '../../connectors/files/orders-reader';
import type {
  CustomerAggregate,
  DatedOrder,
  Period,
  RfmResult,
  RfmRow,
  SegmentGrid,
} from '../../domain/rfm';
import {
  DEFAULT_SEGMENT_GRID,
  buildSegmentGrid,
  countSegments,
  isoDay,
  parseIsoDay,
  parseSegmentsFile,
  roundCents,
  scoreAggregates,
  scoreHistory,
  segmentTrails,
  updateAggregates,
} from '../../domain/rfm';

/** What `braid score rfm` and `rfm-history` read, and how. */
export interface ScoreInput {
  orders: string;
  /** `YYYY-MM-DD`; orders after this day are ignored. */
  asOf: string;
  out: string;
  customerCol?: string;
  dateCol?: string;
  amountCol?: string;
  orderCol?: string;
  format?: 'csv' | 'cdnow';
  delimiter?: string;
  bins?: number;
  /** CSV amounts written as in this locale (`de-DE`: `1.234,50`). */
  numberLocale?: string;
  /** A YAML file of segment rules (see SegmentRulesSpec); the default grid otherwise. */
  segments?: string;
  /** Only orders within this many days up to each scoring day count. */
  windowDays?: number;
}

/** Options of `braid score rfm`. */
export interface ScoreRfmInput extends ScoreInput {
  /** Adds the segments of 30 and 90 days earlier and the change between them. */
  changes?: boolean;
}

/** Options of `braid score rfm-history`. */
export interface ScoreHistoryInput extends ScoreInput {
  period: Period;
}

/** What a scoring run read and produced, for the printed summary and for tests. */
export interface ScoreSummary {
  file: OrdersFileSummary;
  rejects: OrderReject[];
  ordersAfterAsOf: number;
  grid: SegmentGrid;
  /** The scores as of the as-of day (the last period for a history). */
  result: RfmResult;
  rowsWritten: number;
  periods?: number;
}

const RFM_COLUMNS = ['customer_id', 'recency_days', 'frequency', 'monetary', 'r', 'f', 'm', 'fm'];
const CHANGE_COLUMNS = ['segment_30d_ago', 'segment_90d_ago', 'segment_change'];
const BATCH_LINES = 10_000;
const FORMATS = ['csv', 'cdnow'];
const REJECTS_SHOWN = 10;
const WRITE_CHUNK_CHARS = 64 * 1024;

/**
 * Scores every customer of an orders file as of a day and writes one CSV row per customer:
 * `customer_id,recency_days,frequency,monetary,r,f,m,fm,segment` (plus the 30/90-day segments
 * and `segment_change` with `changes`). Without `changes` the file is aggregated in batches as
 * it streams, so memory follows the number of customers, not of order lines.
 */
export async function scoreRfm(input: ScoreRfmInput): Promise<ScoreSummary> {
  const { asOfDay, bins, grid } = settings(input);
  let result: RfmResult;
  let totals: ReadTotals;
  let trails: ReturnType<typeof segmentTrails>['trails'] | undefined;
  if (input.changes === true) {
    const { orders, ...read } = await loadOrders(input, asOfDay);
    const scored = segmentTrails(orders, asOfDay, { bins, grid, windowDays: input.windowDays });
    [totals, result, trails] = [read, scored.current, scored.trails];
  } else {
    const { aggregates, ...read } = await aggregateFile(input, asOfDay);
    totals = read;
    result = scoreAggregates(aggregates.values(), asOfDay, { bins, grid });
  }

  const header = [...RFM_COLUMNS, 'segment', ...(trails === undefined ? [] : CHANGE_COLUMNS)];
  const rowsWritten = await writeCsv(input.out, header, function* () {
    for (const [i, row] of result.rows.entries()) {
      const trail = trails?.[i];
      const extra = trail === undefined ? [] : [...trail.earlier.map((s) => s ?? ''), trail.change];
      yield [...rfmCells(row), row.segment, ...extra];
    }
  });
  return { ...totals, grid, result, rowsWritten };
}

/**
 * Historical RFM: one CSV row per customer and period (`customer_id,period,as_of,...`), each
 * period scored as of its last day with only the orders up to then.
 */
export async function scoreRfmHistory(input: ScoreHistoryInput): Promise<ScoreSummary> {
  const { asOfDay, bins, grid } = settings(input);
  const { orders, ...totals } = await loadOrders(input, asOfDay);
  const history = scoreHistory(orders, asOfDay, input.period, {
    bins,
    grid,
    windowDays: input.windowDays,
  });
  let last: RfmResult | undefined;
  let periods = 0;
  const header = ['customer_id', 'period', 'as_of', ...RFM_COLUMNS.slice(1), 'segment'];
  const rowsWritten = await writeCsv(input.out, header, function* () {
    for (const period of history) {
      const asOf = isoDay(period.scoredAsOfDay);
      for (const row of period.result.rows) {
        yield [row.customerId, period.period, asOf, ...rfmCells(row).slice(1), row.segment];
      }
      last = period.result;
      periods++;
    }
  });
  const result = last ?? scoreAggregates([], asOfDay, { bins, grid });
  return { ...totals, grid, result, rowsWritten, periods };
}

/** The printed summary: rows read and rejected, customers, bins used, segment counts. */
export function formatScoreSummary(summary: ScoreSummary, out: string): string[] {
  const { file, result } = summary;
  const used = result.binsUsed;
  const of = `of ${result.bins}`;
  const bins = `R ${used.r} ${of}, F ${used.f} ${of}, M ${used.m} ${of}, FxM ${used.fm} ${of}`;
  const lines = [
    `Scored ${result.rows.length} customers as of ${isoDay(result.asOfDay)} (${file.format})`,
    `  rows read           ${file.rowsRead} (${file.rejected} rejected)`,
    `  orders after as-of  ${summary.ordersAfterAsOf} ignored`,
    `  customers           ${result.rows.length}`,
    `  bins used           ${bins}`,
  ];
  if (summary.periods !== undefined) lines.push(`  periods             ${summary.periods}`);
  lines.push(`  rows written        ${summary.rowsWritten} to ${out}`, '  segments:');
  for (const [name, count] of countSegments(result.rows, summary.grid)) {
    lines.push(`    ${name.padEnd(22)}${String(count).padStart(7)}`);
  }
  if (summary.rejects.length > 0) lines.push('  rejected rows:');
  for (const reject of summary.rejects.slice(0, REJECTS_SHOWN)) {
    lines.push(`    ${describeOrderReject(file.fileName, reject)}`);
  }
  if (summary.rejects.length > REJECTS_SHOWN) {
    lines.push(`    ... and ${summary.rejects.length - REJECTS_SHOWN} more`);
  }
  return lines;
}

/** Registers `braid score rfm` and `braid score rfm-history`, printing through `print`. */
export function registerScoreCommands(program: Command, print: (line: string) => void): void {
  const score = program.command('score').description('score customers from their orders');

  withInputOptions(score.command('rfm'))
    .description('RFM scores and segments per customer as of a day, from an orders file')
    .option('--changes', 'add the segments of 30 and 90 days earlier and segment_change')
    .action(async (opts: ScoreRfmInput) => {
      const summary = await scoreRfm(opts);
      for (const line of formatScoreSummary(summary, opts.out)) print(line);
    });

  withInputOptions(score.command('rfm-history'))
    .description('RFM per customer and period, each period scored as of its last day')
    .addOption(
      new Option('--period <period>', 'period length')
        .choices(['year', 'quarter', 'month'])
        .default('month'),
    )
    .action(async (opts: ScoreHistoryInput) => {
      const summary = await scoreRfmHistory(opts);
      for (const line of formatScoreSummary(summary, opts.out)) print(line);
    });
}

/**
 * The `score` command group for COMMAND_GROUPS in client/commands/index.ts (typed here without
 * importing it, so the registry can import this module without a cycle).
 */
export const scoreCommands = (program: Command): void =>
  registerScoreCommands(program, (line) => process.stdout.write(`${line}\n`));

function withInputOptions(command: Command): Command {
  return command
    .requiredOption('--orders <file>', 'orders file: CSV, or CDNOW-style whitespace columns')
    .requiredOption('--as-of <YYYY-MM-DD>', 'score as of this day; ignore later orders', parseDay)
    .requiredOption('--out <csv>', 'CSV file to write')
    .option('--customer-col <name>', 'CSV column of the customer id', 'customer_id')
    .option('--date-col <name>', 'CSV column of the order date', 'date')
    .option('--amount-col <name>', 'CSV column of the amount', 'amount')
    .option('--order-col <name>', 'CSV column of an order id grouping lines into one order')
    .addOption(new Option('--format <format>', 'file layout (detected)').choices(FORMATS))
    .option('--delimiter <char>', 'CSV delimiter (detected when absent)')
    .option(
      '--number-locale <locale>',
      'amounts written as in this locale, e.g. de-DE for 1.234,50',
      parseLocale,
    )
    .option('--bins <n>', 'number of score bins', parseBins, 6)
    .option('--segments <yaml>', 'segment rules over the (R, FxM) grid (default: built-in 6x6)')
    .option('--window-days <n>', 'count only the last n days of orders to each as-of', parseWhole);
}

/** What reading a file reports, whatever is kept of its orders. */
interface ReadTotals {
  file: OrdersFileSummary;
  rejects: OrderReject[];
  ordersAfterAsOf: number;
}

function settings(input: ScoreInput): { asOfDay: number; bins: number; grid: SegmentGrid } {
  const asOfDay = parseIsoDay(input.asOf);
  if (asOfDay === undefined) throw new ConfigError(`--as-of ${input.asOf} is not a YYYY-MM-DD day`);
  const bins = input.bins ?? 6;
  if (input.segments !== undefined) {
    return { asOfDay, bins, grid: loadSegments(input.segments, bins) };
  }
  const builtIn = DEFAULT_SEGMENT_GRID.bins;
  if (bins !== builtIn) {
    const why = `the built-in segments cover a ${builtIn}x${builtIn} grid`;
    throw new ConfigError(`--bins ${bins}: ${why}; give --segments for ${bins} bins`);
  }
  return { asOfDay, bins, grid: DEFAULT_SEGMENT_GRID };
}

function loadSegments(file: string, bins: number): SegmentGrid {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read segments file ${file}`, error);
  }
  return buildSegmentGrid(parseSegmentsFile(text, file), bins, `${file}: segments`);
}

function readerOptions(input: ScoreInput) {
  return {
    format: input.format,
    delimiter: input.delimiter,
    numberLocale: input.numberLocale,
    columns: {
      customer: input.customerCol,
      date: input.dateCol,
      amount: input.amountCol,
      order: input.orderCol,
    },
  };
}

/** Reads every order up to the as-of day (and in the time frame) into memory, sorted by day. */
async function loadOrders(
  input: ScoreInput,
  asOfDay: number,
): Promise<ReadTotals & { orders: DatedOrder[] }> {
  const orders: DatedOrder[] = [];
  let ordersAfterAsOf = 0;
  const { rejects, ...file } = await readOrdersFile(input.orders, readerOptions(input), (line) => {
    const order = datedOrder(line);
    if (order.day > asOfDay) ordersAfterAsOf++;
    else orders.push(order);
  });
  orders.sort((a, b) => a.day - b.day);
  return { file, rejects, ordersAfterAsOf, orders };
}

/** Streams the file into per-customer aggregates, folding in one batch of lines at a time. */
async function aggregateFile(
  input: ScoreInput,
  asOfDay: number,
): Promise<ReadTotals & { aggregates: Map<string, CustomerAggregate> }> {
  const aggregates = new Map<string, CustomerAggregate>();
  const afterDay = input.windowDays === undefined ? undefined : asOfDay - input.windowDays;
  let batch: DatedOrder[] = [];
  const flush = (): void => {
    for (const [id, agg] of updateAggregates(aggregates, batch, { asOfDay, afterDay })) {
      aggregates.set(id, agg);
    }
    batch = [];
  };
  let ordersAfterAsOf = 0;
  const { rejects, ...file } = await readOrdersFile(input.orders, readerOptions(input), (line) => {
    const order = datedOrder(line);
    if (order.day > asOfDay) {
      ordersAfterAsOf++;
      return;
    }
    batch.push(order);
    if (batch.length >= BATCH_LINES) flush();
  });
  flush();
  return { file, rejects, ordersAfterAsOf, aggregates };
}

function datedOrder(line: OrderLine): DatedOrder {
  // The reader only yields real YYYY-MM-DD days.
  const day = parseIsoDay(line.date) as number;
  const order: DatedOrder = { customerId: line.customerId, day, amount: line.amount };
  if (line.orderId !== undefined) order.orderId = line.orderId;
  return order;
}

function rfmCells(row: RfmRow): string[] {
  const monetary = roundCents(row.monetary).toFixed(2);
  const scores = [row.r, row.f, row.m, row.fm].map(String);
  return [row.customerId, String(row.recencyDays), String(row.frequency), monetary, ...scores];
}

/** Writes a header and rows as RFC 4180 CSV, waiting for the disk when the buffer fills. */
async function writeCsv(
  file: string,
  header: string[],
  rows: () => Iterable<string[]>,
): Promise<number> {
  const out = createWriteStream(file);
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  failed.catch(() => undefined);
  // Lines are joined into chunks: one write per row costs more than the scoring itself.
  let chunk = `${header.map(csvCell).join(',')}\n`;
  let count = 0;
  const flush = async (): Promise<void> => {
    const full = !out.write(chunk);
    chunk = '';
    if (full) await Promise.race([once(out, 'drain'), failed]);
  };
  try {
    for (const cells of rows()) {
      chunk += `${cells.map(csvCell).join(',')}\n`;
      count++;
      if (chunk.length >= WRITE_CHUNK_CHARS) await flush();
    }
    await flush();
  } finally {
    out.end();
  }
  await Promise.race([once(out, 'finish'), failed]);
  return count;
}

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function parseDay(value: string): string {
  if (parseIsoDay(value) === undefined) throw new InvalidArgumentError('expected a YYYY-MM-DD day');
  return value;
}

function parseBins(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new InvalidArgumentError('expected 1 to 100');
  return n;
}

function parseWhole(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a number of days');
  return n;
}

/** A BCP 47 tag such as de-DE; `de_DE` is refused here rather than mid-file. */
function parseLocale(value: string): string {
  try {
    new Intl.NumberFormat(value);
    return value;
  } catch {
    throw new InvalidArgumentError('not a locale (try de-DE or fr-FR)');
  }
}
