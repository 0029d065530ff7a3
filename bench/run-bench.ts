/**
 * `npm run bench`: accuracy of the identity engine on public files with a known truth, and the
 * speed of a full and an incremental unify of generated records in SQLite and PostgreSQL, beside
 * an in-memory union-find baseline. Prints tables, then the whole report as one JSON line.
 *
 *   npm run bench -- [--records N] [--orders N] [--only sqlite|postgres|accuracy|prepare]
 *                    [--batch N] [--seed N]
 *                    [--cpu-prof DIR]
 *
 * Each speed step runs in a child process, so each peak memory figure belongs to one step.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { scoreAll, type AccuracyResult } from './accuracy';
import { benchPostgres, postgresTarget, sqliteTarget, type BenchTarget } from './bench-db';
import { formatPrepareTable, runPrepareBench, type PrepareRow } from './prepare-bench';
import {
  accuracyTable,
  jsonReport,
  memoryTable,
  speedTable,
  TARGET_FULL_RATIO,
  TARGET_INCREMENTAL_SECONDS,
  type SpeedRow,
} from './report';
import type { CaseInput, CaseOutput } from './speed-case';

const SIZES = [100_000, 300_000, 1_000_000];
const BATCH = 10_000;
const SEED = 20_260_101;
/**
 * The size. 10M orders take about 12 minutes per database on the 2-core machine
 * (setup 2, prepare 3-5, the database-alone queries and the comparison 3-4; see README);
 * `--orders 1000000` is the quick run, about 1.5 minutes.
 */
const ORDERS = 10_000_000;

interface Options {
  sizes: number[];
  only?: 'sqlite' | 'postgres' | 'accuracy' | 'prepare';
  batch: number;
  /** Orders for the RFM and computed-fields bench (issue 5). */
  orders: number;
  seed: number;
  cpuProfDir?: string;
}

/** Thrown for a command line the bench does not understand; the message says what is wrong. */
class UsageError extends Error {}

export function parseArgs(argv: string[]): Options {
  const options: Options = { sizes: SIZES, batch: BATCH, seed: SEED, orders: ORDERS };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    i++;
    const count = () => {
      const n = Number(value.replace(/_/g, ''));
      if (!Number.isInteger(n) || n <= 0) {
        throw new UsageError(`${flag}: not a positive integer: ${value}`);
      }
      return n;
    };
    if (flag === '--records') options.sizes = [count()];
    else if (flag === '--batch') options.batch = count();
    else if (flag === '--orders') options.orders = count();
    else if (flag === '--seed') options.seed = count();
    else if (flag === '--cpu-prof') options.cpuProfDir = path.resolve(value);
    else if (flag === '--only') {
      if (
        value !== 'sqlite' &&
        value !== 'postgres' &&
        value !== 'accuracy' &&
        value !== 'prepare'
      ) {
        throw new UsageError(`--only: sqlite, postgres, accuracy or prepare, not ${value}`);
      }
      options.only = value;
    } else throw new UsageError(`unknown option ${flag}`);
  }
  return options;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Runs one step in a child process and returns what it printed. */
function runStep(input: CaseInput, options: Options, label: string): Promise<CaseOutput> {
  const profile = options.cpuProfDir
    ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`, `--cpu-prof-name=${label}.cpuprofile`]
    : [];
  const script = path.join(__dirname, 'speed-case.js');
  const child = spawn(process.execPath, [...profile, script, JSON.stringify(input)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop();
      if (code !== 0 || !last) reject(new Error(`bench step ${label} exited with status ${code}`));
      else resolve(JSON.parse(last) as CaseOutput);
    });
  });
}

async function measure(
  database: SpeedRow['database'],
  target: BenchTarget,
  records: number,
  baseline: CaseOutput,
  options: Options,
): Promise<SpeedRow> {
  const tag = `${database === 'SQLite' ? 'sqlite' : 'postgres'}-${records}`;
  const common = { records, seed: options.seed, target };
  const stage = await runStep({ step: 'stage', ...common }, options, `stage-${tag}`);
  log(`  ${database} ${records}: staged in ${stage.seconds.toFixed(1)} s`);
  const full = await runStep({ step: 'full', ...common }, options, `full-${tag}`);
  log(`  ${database} ${records}: full unify in ${full.seconds.toFixed(1)} s`);
  const incremental = await runStep(
    { step: 'incremental', ...common, batch: options.batch },
    options,
    `incremental-${tag}`,
  );
  log(`  ${database} ${records}: incremental batch in ${incremental.seconds.toFixed(2)} s`);
  return { database, records, batch: options.batch, baseline, stage, full, incremental };
}

async function runSpeed(options: Options, skipped: string[]): Promise<SpeedRow[]> {
  const rows: SpeedRow[] = [];
  const withSqlite = options.only !== 'postgres';
  let pg: Awaited<ReturnType<typeof benchPostgres>> | undefined;
  if (options.only !== 'sqlite') {
    pg = await benchPostgres();
    if ('missing' in pg) {
      skipped.push(`PostgreSQL skipped: ${pg.missing}`);
      log(`PostgreSQL skipped: ${pg.missing}`);
    }
  }
  try {
    for (const records of options.sizes) {
      const { batch, seed } = options;
      const input: CaseInput = { step: 'baseline', records, batch, seed };
      const baseline = await runStep(input, options, `baseline-${records}`);
      log(`baseline ${records}: ${baseline.seconds.toFixed(2)} s, ${baseline.clusters} clusters`);
      if (withSqlite) {
        const { target, drop } = sqliteTarget(String(records));
        try {
          rows.push(await measure('SQLite', target, records, baseline, options));
        } finally {
          drop();
        }
      }
      if (pg && 'url' in pg) {
        const { target, drop } = await postgresTarget(pg.url, String(records));
        try {
          rows.push(await measure('PostgreSQL', target, records, baseline, options));
        } finally {
          await drop();
        }
      }
    }
  } finally {
    if (pg && 'stop' in pg) pg.stop();
  }
  return rows;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const skipped: string[] = [];
  let accuracy: AccuracyResult[] = [];
  if (!options.only || options.only === 'accuracy') {
    log('Scoring accuracy...');
    accuracy = await scoreAll();
  }
  const speed =
    options.only === 'accuracy' || options.only === 'prepare'
      ? []
      : await runSpeed(options, skipped);
  const prepare: PrepareRow[] = [];
  if (!options.only || options.only === 'prepare') {
    for (const target of ['sqlite', 'postgres'] as const) {
      log(`RFM and computed fields on ${options.orders} orders (${target})...`);
      prepare.push(
        ...(await runPrepareBench({ orders: options.orders, target, stepTimeoutSeconds: 900 })),
      );
    }
  }

  const out: string[] = [];
  if (accuracy.length > 0) {
    out.push('Accuracy (pairwise, one rule set inferred for customer data in general)', '');
    out.push(accuracyTable(accuracy), '');
    for (const r of accuracy) out.push(`  ${r.name}: ${r.rules}`);
    out.push('');
  }
  if (speed.length > 0) {
    out.push(
      `Speed (targets: full unify <= ${TARGET_FULL_RATIO}x baseline, incremental batch ` +
        `< ${TARGET_INCREMENTAL_SECONDS} s)`,
      '',
      speedTable(speed),
      '',
      'Peak memory (RSS high-water mark of each step, its own process)',
      '',
      memoryTable(speed),
      '',
    );
  }
  if (prepare.length > 0) {
    out.push(
      'RFM and computed fields (ratio: time / the database alone running the same aggregates)',
      '',
    );
    out.push(formatPrepareTable(prepare), '');
  }
  for (const line of skipped) out.push(line);
  out.push(JSON.stringify({ ...jsonReport(accuracy, speed, skipped), prepare }));
  process.stdout.write(`${out.join('\n')}\n`);
}

if (require.main === module) {
  main().catch((error: Error) => {
    const usage = error instanceof UsageError;
    process.stderr.write(`${usage ? error.message : (error.stack ?? error.message)}\n`);
    process.exitCode = usage ? 2 : 1;
  });
}
