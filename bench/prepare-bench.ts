/**
 * The prepare bench: computed fields and RFM over generated orders (10 million by default) in
 * SQLite or PostgreSQL, timed beside the aggregate queries the database alone needs for the
 * same values, as a ratio. Each step runs in a child process, so each peak memory is its own.
 *
 *   node dist/bench/prepare-bench.js [--orders N] [--only sqlite|postgres] [--batch N] [--seed N]
 *                                    [--step-timeout SECONDS]
 *
 * Prints a table, the time per phase of each prepare, then the rows as one JSON line.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { benchPostgres, postgresTarget, sqliteTarget, type BenchTarget } from './bench-db';
import {
  PROGRESS,
  type PrepareCaseInput,
  type PrepareCaseOutput,
  type PrepareStep,
} from './prepare-case';

const ORDERS = 10_000_000;
const BATCH = 10_000;
const SEED = 20_260_101;

export interface PrepareBenchOptions {
  orders?: number;
  /** Customers with orders; by default about one per 9.8 orders, as the skew gives. */
  customers?: number;
  target: 'sqlite' | 'postgres';
  /** A PostgreSQL server to use; without it a throwaway cluster is started (BRAID_BENCH_PG_URL). */
  pgUrl?: string;
  batch?: number;
  seed?: number;
  /**
   * A step still running after this many seconds is stopped; its row says so and shows its
   * phases so far, and the steps after it are skipped. Child processes only.
   */
  stepTimeoutSeconds?: number;
  /** Runs one step; by default in a child process (`dist/bench/prepare-case.js`). */
  runStep?: (input: PrepareCaseInput) => Promise<PrepareCaseOutput>;
}

export interface PrepareRow {
  case: string;
  target: 'sqlite' | 'postgres';
  records: number;
  seconds: number;
  /** prepare ÷ the db-only queries (computed + RFM) on the same data; null for other steps. */
  ratio: number | null;
  peakRssMb: number;
  /** Prepare only: seconds per kind of statement, and `js` for the rest. */
  phases?: Record<string, number>;
  /** The step was stopped at the time limit; `seconds` is the limit. */
  timedOut?: boolean;
}

const STEPS: Array<[PrepareStep, string]> = [
  ['stage-orders', 'stage orders'],
  ['stage-customers', 'stage customers'],
  ['golden', 'golden customers'],
  ['prepare-full', 'prepare (full)'],
  ['db-only-computed', 'db-only computed'],
  ['db-only-rfm', 'db-only RFM'],
  ['check', 'check prepare = db-only'],
  ['prepare-incremental', 'prepare (incremental)'],
];

/**
 * Runs every step on one fresh database and returns a row per step, plus `stage new orders`
 * before the incremental prepare. Fails when prepare's values differ from the db-only ones.
 */
export async function runPrepareBench(options: PrepareBenchOptions): Promise<PrepareRow[]> {
  const orders = options.orders ?? ORDERS;
  const { target } = options;
  const place = await openPlace(options);
  const runStep =
    options.runStep ?? ((input: PrepareCaseInput) => runChild(input, options.stepTimeoutSeconds));
  const outputs = new Map<PrepareStep, PrepareCaseOutput>();
  const rows: PrepareRow[] = [];
  try {
    for (const [step, label] of STEPS) {
      const input: PrepareCaseInput = {
        step,
        orders,
        customers: options.customers,
        batch: options.batch ?? BATCH,
        seed: options.seed ?? SEED,
        target: place.target,
      };
      const out = await runStep(input);
      outputs.set(step, out);
      if (out.mismatches && out.mismatches.length > 0) {
        const first = out.mismatches.slice(0, 5).join('; ');
        throw new Error(`prepare bench: prepare differs from db-only: ${first}`);
      }
      const { stageSeconds } = out;
      if (stageSeconds !== undefined) {
        rows.push(row('stage new orders', target, input.batch, stageSeconds, null, out.peakRssMb));
      }
      const done = row(label, target, out.records, out.seconds, null, out.peakRssMb);
      rows.push({ ...done, phases: out.phases, ...(out.timedOut ? { timedOut: true } : {}) });
      if (out.timedOut) return rows;
    }
  } finally {
    await place.drop();
  }

  const dbOnly = outputs.get('db-only-computed')!.seconds + outputs.get('db-only-rfm')!.seconds;
  const customers = outputs.get('db-only-rfm')!.records;
  rows.splice(6, 0, row('db-only total', target, customers, dbOnly, 1, 0));
  for (const [step, label] of STEPS) {
    const found = rows.find((r) => r.case === label);
    if (!found || !step.startsWith('prepare')) continue;
    found.ratio = round(outputs.get(step)!.seconds / dbOnly, 2);
  }
  return rows;
}

function row(
  name: string,
  target: PrepareRow['target'],
  records: number,
  seconds: number,
  ratio: number | null,
  peakRssMb: number,
): PrepareRow {
  return { case: name, target, records, seconds: round(seconds, 3), ratio, peakRssMb };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

async function openPlace(
  options: PrepareBenchOptions,
): Promise<{ target: BenchTarget; drop(): Promise<void> }> {
  if (options.target === 'sqlite') {
    const made = sqliteTarget('prepare');
    return { target: made.target, drop: async () => made.drop() };
  }
  let url = options.pgUrl;
  let stop = () => undefined as void;
  if (!url) {
    const pg = await benchPostgres();
    if ('missing' in pg) throw new Error(`prepare bench: no PostgreSQL: ${pg.missing}`);
    url = pg.url;
    stop = pg.stop;
  }
  const made = await postgresTarget(url, 'prepare');
  return {
    target: made.target,
    drop: async () => {
      try {
        await made.drop();
      } finally {
        stop();
      }
    },
  };
}

/**
 * Runs one step in `node dist/bench/prepare-case.js` and parses its JSON line. At the time
 * limit the child is killed and the step reported as stopped, with its last progress line.
 */
function runChild(input: PrepareCaseInput, timeoutSeconds?: number): Promise<PrepareCaseOutput> {
  const script = path.join(__dirname, 'prepare-case.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(input)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let progress:
      | { seconds: number; phases: Record<string, number>; statements: Record<string, number> }
      | undefined;
    let timedOut = false;
    const timer =
      timeoutSeconds === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, timeoutSeconds * 1000);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const lines = err.split('\n');
      err = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith(PROGRESS)) progress = JSON.parse(line.slice(PROGRESS.length));
        else err += `${line}\n`;
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) {
        const seconds = timeoutSeconds!;
        const phases = progress?.phases;
        const statements = JSON.stringify(progress?.statements ?? {});
        process.stderr.write(`${input.step} stopped after ${seconds} s: ${statements}\n`);
        resolve({ step: input.step, seconds, records: 0, peakRssMb: 0, timedOut, phases });
        return;
      }
      const last = out.trim().split('\n').pop() ?? '';
      if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as PrepareCaseOutput);
      else {
        const why = err.trim().split('\n')[0];
        reject(new Error(`prepare bench step ${input.step} failed (exit ${code}): ${why}`));
      }
    });
  });
}

/** The rows as a fixed-width table, then each prepare's seconds per phase. */
export function formatPrepareTable(rows: PrepareRow[]): string {
  const head = ['case', 'target', 'records', 'seconds', 'ratio', 'peak RSS MB'];
  const body = rows.map((r) => [
    r.case,
    r.target,
    r.timedOut ? '' : r.records.toLocaleString('en-US'),
    r.timedOut ? `>${r.seconds.toFixed(2)}` : r.seconds.toFixed(2),
    r.ratio === null ? '' : `${r.ratio.toFixed(2)}x`,
    r.peakRssMb === 0 ? '' : String(r.peakRssMb),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
  for (const r of rows) {
    if (!r.phases) continue;
    const top = Object.entries(r.phases)
      .filter(([, s]) => s >= 0.01)
      .slice(0, 8);
    const when = r.timedOut ? ', stopped at the time limit; phases so far' : '';
    const list = top.map(([k, s]) => `${k} ${s.toFixed(2)} s`).join(', ');
    out.push(`  ${r.case} on ${r.target}${when}: ${list}`);
  }
  return out.join('\n');
}

interface Cli {
  orders: number;
  stepTimeoutSeconds?: number;
  targets: Array<'sqlite' | 'postgres'>;
  batch: number;
  seed: number;
}

export function parsePrepareArgs(argv: string[]): Cli {
  const cli: Cli = { orders: ORDERS, targets: ['sqlite', 'postgres'], batch: BATCH, seed: SEED };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    const n = Number(value.replace(/_/g, ''));
    if (flag === '--only') {
      if (value !== 'sqlite' && value !== 'postgres') {
        throw new Error(`--only: sqlite or postgres, not ${value}`);
      }
      cli.targets = [value];
    } else if (flag === '--step-timeout') {
      if (!(n > 0)) throw new Error(`--step-timeout: not a positive number of seconds: ${value}`);
      cli.stepTimeoutSeconds = n;
    } else if (flag === '--orders' || flag === '--batch' || flag === '--seed') {
      if (!Number.isInteger(n) || n <= 0) {
        throw new Error(`${flag}: not a positive integer: ${value}`);
      }
      cli[flag.slice(2) as 'orders' | 'batch' | 'seed'] = n;
    } else throw new Error(`unknown option ${flag}`);
  }
  return cli;
}

async function main(): Promise<void> {
  const cli = parsePrepareArgs(process.argv.slice(2));
  const rows: PrepareRow[] = [];
  for (const target of cli.targets) {
    const got = await runPrepareBench({
      orders: cli.orders,
      target,
      batch: cli.batch,
      seed: cli.seed,
      stepTimeoutSeconds: cli.stepTimeoutSeconds,
    });
    rows.push(...got);
    console.log(formatPrepareTable(got));
  }
  console.log(JSON.stringify({ prepare: rows }));
}

if (require.main === module) {
  main().catch((error: Error) => {
    console.error(error.message);
    process.exitCode = 1;
  });
}
