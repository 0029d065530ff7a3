/**
 * One measured step of the prepare bench, run in a process of its own so that its peak memory
 * (the RSS high-water mark) is its own: `node dist/bench/prepare-case.js '<PrepareCaseInput>'`.
 * Prints one JSON line, a {@link PrepareCaseOutput}.
 */
import type { Knex } from 'knex';
import { migrate } from '../store/db';
import { openTarget, type BenchTarget } from './bench-db';
import { runDbOnly } from './prepare-db-only';
import { ordersPerCustomer } from './prepare-generate';
import {
  ASOF_DAY,
  benchConfig,
  NEXT_DAY_MS,
  checkPrepared,
  prepareOnce,
  secondsSince,
  stageCustomers,
  stageNewOrders,
  stageOrders,
  writeGoldenCustomers,
} from './prepare-steps';
import { runCaseMain } from './case-main';

export type PrepareStep =
  | 'stage-orders'
  | 'stage-customers'
  | 'golden'
  | 'prepare-full'
  | 'db-only-computed'
  | 'db-only-rfm'
  | 'prepare-incremental'
  | 'check';

export interface PrepareCaseInput {
  step: PrepareStep;
  orders: number;
  /** Customers with orders; by default they follow from the orders (see ordersPerCustomer). */
  customers?: number;
  /** New orders staged before the incremental prepare. */
  batch: number;
  seed: number;
  target: BenchTarget;
}

export interface PrepareCaseOutput {
  step: PrepareStep;
  seconds: number;
  /** Peak resident memory of the whole process, in MiB. */
  peakRssMb: number;
  /** Rows the step worked on: orders staged, profiles, customers aggregated or compared. */
  records: number;
  /** Incremental only: staging the new orders, timed apart from preparing them. */
  stageSeconds?: number;
  /** Seconds per kind of SQL statement (verb and table), and `js` for the time between them. */
  phases?: Record<string, number>;
  /** Prepare's own counts. */
  result?: Record<string, number>;
  checksum?: number;
  mismatches?: string[];
  /** Set by the bench when it stopped the step at its time limit: `seconds` is that limit. */
  timedOut?: boolean;
}

/** Prefix of the progress lines a prepare step writes to stderr (its phases so far). */
export const PROGRESS = 'progress ';
const PROGRESS_EVERY_MS = 15_000;

type Output = Omit<PrepareCaseOutput, 'peakRssMb'>;

export async function runCase(input: PrepareCaseInput): Promise<Output> {
  const counts = ordersPerCustomer(input.orders, input.seed, input.customers);
  const db = openTarget(input.target);
  try {
    if (input.step === 'stage-orders') {
      await migrate(db);
      const seconds = await stageOrders(db, counts, input.seed);
      return { step: input.step, seconds, records: input.orders };
    }
    const config = benchConfig();
    const started = process.hrtime.bigint();
    if (input.step === 'stage-customers') {
      const records = await stageCustomers(db, counts);
      return { step: input.step, seconds: secondsSince(started), records };
    }
    if (input.step === 'golden') {
      const records = await writeGoldenCustomers(db, counts);
      return { step: input.step, seconds: secondsSince(started), records };
    }
    if (input.step === 'db-only-computed' || input.step === 'db-only-rfm') {
      const which = input.step === 'db-only-rfm' ? 'rfm' : 'computed';
      const summary = await runDbOnly(db, which, ASOF_DAY);
      const seconds = secondsSince(started);
      return { step: input.step, seconds, records: summary.customers, checksum: summary.checksum };
    }
    if (input.step === 'check') {
      const check = await checkPrepared(db);
      const seconds = secondsSince(started);
      return { step: input.step, seconds, records: check.compared, mismatches: check.mismatches };
    }

    let stageSeconds: number | undefined;
    if (input.step === 'prepare-incremental') {
      stageSeconds = await stageNewOrders(db, counts, input.orders, input.batch, input.seed);
    }
    const timed = process.hrtime.bigint();
    // A bench that stops a long step still learns where its time went.
    const phases = profileQueries(db, () => {
      const so = phases.done(secondsSince(timed), false);
      const line = { seconds: secondsSince(timed), phases: so, statements: phases.statements() };
      process.stderr.write(`${PROGRESS}${JSON.stringify(line)}\n`);
    });
    const incremental = input.step === 'prepare-incremental';
    const result = await prepareOnce(
      db,
      config,
      input.step,
      incremental ? NEXT_DAY_MS + 2000 : undefined,
    );
    const seconds = secondsSince(timed);
    const all = result.customersRecomputed < 0;
    const records = all ? result.recordsPrepared : result.customersRecomputed;
    return {
      step: input.step,
      seconds,
      records,
      stageSeconds,
      phases: phases.done(seconds),
      result: { ...result },
    };
  } finally {
    await db.destroy();
  }
}

/**
 * Sums the time of each statement by what it does (`insert prepared_events`, `select
 * prepared_events group by`), from knex's query events, which transactions report too; the
 * rest of the step's time is JavaScript (recipes, JSON, hashing, scoring) and is named `js`.
 * `progress` is called after a statement at most every 15 s. Not from a timer: better-sqlite3
 * answers synchronously, so knex's promise chain never yields to timers until prepare ends.
 */
function profileQueries(
  db: Knex,
  progress: () => void,
): {
  done(totalSeconds: number, stop?: boolean): Record<string, number>;
  statements(): Record<string, number>;
} {
  const started = new Map<string, bigint>();
  const totals = new Map<string, number>();
  const counts = new Map<string, number>();
  let lastProgress = process.hrtime.bigint();
  const begin = (q: { __knexQueryUid: string }) => {
    started.set(q.__knexQueryUid, process.hrtime.bigint());
  };
  const end = (_: unknown, q: { __knexQueryUid: string; sql: string }) => {
    const at = started.get(q.__knexQueryUid);
    if (at === undefined) return;
    started.delete(q.__knexQueryUid);
    const label = statementKind(q.sql);
    totals.set(label, (totals.get(label) ?? 0) + secondsSince(at));
    counts.set(label, (counts.get(label) ?? 0) + 1);
    if (secondsSince(lastProgress) * 1000 >= PROGRESS_EVERY_MS) {
      lastProgress = process.hrtime.bigint();
      progress();
    }
  };
  db.on('query', begin).on('query-response', end).on('query-error', end);
  return {
    statements: () => Object.fromEntries(counts),
    done(totalSeconds, stop = true) {
      if (stop) db.off('query', begin).off('query-response', end).off('query-error', end);
      const sql = [...totals.values()].reduce((a, b) => a + b, 0);
      const sorted = [...totals].sort((a, b) => b[1] - a[1]);
      const all: Array<[string, number]> = [...sorted, ['js', totalSeconds - sql]];
      return Object.fromEntries(all.map(([k, v]) => [k, round3(v)]));
    },
  };
}

/** `verb table` of a statement, plus `group by` or `window` for aggregate reads. */
export function statementKind(sql: string): string {
  const text = sql.replace(/\s+/g, ' ').trim().toLowerCase();
  const verb = /^(\w+)/.exec(text)?.[1] ?? 'sql';
  const table = /\b(?:from|into|update)\s+[`"]?(\w+)/.exec(text)?.[1] ?? '';
  const extra = / over \(/.test(text) ? ' window' : / group by /.test(text) ? ' group by' : '';
  return `${verb} ${table}${extra}`.trim();
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

if (require.main === module) runCaseMain(runCase);
