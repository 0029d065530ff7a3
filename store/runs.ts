import type { Knex } from 'knex';

/**
 * Counters the steps before delivery record; delivery's own figures are derived from the outbox
 * when the run finishes (store/delivery.ts summarizeOutbox), so they are not kept twice.
 */
export interface RunCounts {
  recordsRead: number;
  recordsRejected: number;
  filesImported: number;
  pagesRead: number;
  goldenRecords: number;
  goldenCreated: number;
  goldenMerged: number;
  goldenSplit: number;
  goldenRetired: number;
  recordsAmbiguous: number;
  mergesRefused: number;
  recordsPlanned: number;
  recordsSkipped: number;
  batchesPlanned: number;
  /** Custom events and purchases planned (outbox items of kind `events`). */
  eventsPlanned: number;
  /**
   * Custom events in range (`since`) that are not in the ledger and whose customer key no
   * active golden record with the sync's identifier holds; planned once it does.
   */
  eventsUnmatched: number;
  /** The same for purchases. */
  purchasesUnmatched: number;
  /** How the unify ran: `full` (rules changed, or first run), `incremental` or `unchanged`. */
  unifyMode?: 'full' | 'incremental' | 'unchanged';
  /** Source records the unify re-clustered (every record on a full rebuild). */
  recordsUnified: number;
  /** Golden records prepared (golden-level recipes, computed fields, scores). */
  recordsPrepared: number;
  /** Prepared records whose attributes changed (or were removed) this run. */
  preparedChanged: number;
  /** Customers whose computed fields were recomputed; -1 when all were (settings changed). */
  customersRecomputed: number;
  /** Events that cannot be used (no customer, no readable date), found this run. */
  eventsUnusable: number;
}

export const EMPTY_COUNTS: RunCounts = {
  recordsRead: 0,
  recordsRejected: 0,
  filesImported: 0,
  pagesRead: 0,
  goldenRecords: 0,
  goldenCreated: 0,
  goldenMerged: 0,
  goldenSplit: 0,
  goldenRetired: 0,
  recordsAmbiguous: 0,
  mergesRefused: 0,
  recordsPlanned: 0,
  recordsSkipped: 0,
  batchesPlanned: 0,
  eventsPlanned: 0,
  eventsUnmatched: 0,
  purchasesUnmatched: 0,
  recordsUnified: 0,
  recordsPrepared: 0,
  preparedChanged: 0,
  customersRecomputed: 0,
  eventsUnusable: 0,
};

export interface RowError {
  stage: 'extract' | 'unify' | 'prepare' | 'plan' | 'deliver';
  source?: string;
  fileName?: string;
  line?: number;
  recordKey?: string;
  field?: string;
  reason: string;
}

/**
 * Creates the run row if it is not there yet: a retried activity finds it and keeps the first
 * values, including the emulator's data-point counter read before the run.
 */
export async function openRun(
  db: Knex,
  run: {
    runId: string;
    syncId: string;
    trigger: string;
    startedAtMs: number;
    dataPointsBefore?: number | null;
  },
): Promise<void> {
  await db('runs')
    .insert({
      run_id: run.runId,
      sync_id: run.syncId,
      trigger: run.trigger,
      status: 'running',
      started_at_ms: run.startedAtMs,
      counts: JSON.stringify(EMPTY_COUNTS),
      data_points_before: run.dataPointsBefore ?? null,
    })
    .onConflict('run_id')
    .ignore();
}

/** Sets counters to absolute values (for steps that recompute a figure rather than add to it). */
export async function setCounts(
  db: Knex | Knex.Transaction,
  runId: string,
  values: Partial<RunCounts>,
): Promise<void> {
  await updateCounts(db, runId, (counts) => Object.assign(counts, values));
}

/** Read and write share a transaction so a concurrent update is never lost. */
async function updateCounts(
  db: Knex | Knex.Transaction,
  runId: string,
  change: (counts: RunCounts) => void,
) {
  const apply = async (trx: Knex.Transaction) => {
    const query = trx('runs').where({ run_id: runId });
    // SQLite locks the whole database for a write transaction; PostgreSQL needs the row lock.
    if (trx.client.config.client === 'pg') query.forUpdate();
    const row = await query.first('counts');
    const counts: RunCounts = { ...EMPTY_COUNTS, ...(row ? JSON.parse(row.counts) : {}) };
    change(counts);
    await trx('runs')
      .where({ run_id: runId })
      .update({ counts: JSON.stringify(counts) });
  };
  if ('isTransaction' in db && db.isTransaction) await apply(db as Knex.Transaction);
  else await (db as Knex).transaction(apply);
}

export async function getRun(db: Knex, runId: string) {
  const row = await db('runs').where({ run_id: runId }).first();
  if (!row) return undefined;
  return {
    runId: row.run_id as string,
    syncId: row.sync_id as string,
    trigger: row.trigger as string,
    status: row.status as string,
    startedAtMs: Number(row.started_at_ms),
    finishedAtMs: row.finished_at_ms === null ? null : Number(row.finished_at_ms),
    counts: { ...EMPTY_COUNTS, ...JSON.parse(row.counts) } as RunCounts,
    dataPointsBefore: row.data_points_before === null ? null : Number(row.data_points_before),
    report: row.report ? JSON.parse(row.report) : null,
  };
}

export async function closeRun(
  db: Knex,
  runId: string,
  status: string,
  finishedAtMs: number,
  report: unknown,
) {
  await db('runs')
    .where({ run_id: runId })
    .update({ status, finished_at_ms: finishedAtMs, report: JSON.stringify(report) });
}

export async function recordRowErrors(
  db: Knex | Knex.Transaction,
  runId: string,
  errors: RowError[],
) {
  if (errors.length === 0) return;
  const rows = errors.map((e) => ({
    run_id: runId,
    stage: e.stage,
    source: e.source ?? null,
    file_name: e.fileName ?? null,
    line: e.line ?? null,
    record_key: e.recordKey ?? null,
    field: e.field ?? null,
    reason: e.reason,
  }));
  for (let i = 0; i < rows.length; i += 500) await db('row_errors').insert(rows.slice(i, i + 500));
}

export async function listRowErrors(db: Knex, runId: string, limit = 1000): Promise<RowError[]> {
  const rows = await db('row_errors').where({ run_id: runId }).orderBy('id').limit(limit);
  return rows.map((r) => ({
    stage: r.stage,
    source: r.source ?? undefined,
    fileName: r.file_name ?? undefined,
    line: r.line === null ? undefined : Number(r.line),
    recordKey: r.record_key ?? undefined,
    field: r.field ?? undefined,
    reason: r.reason,
  }));
}

/** What the extraction of a run has staged so far, whether or not it finished. */
export type ExtractProgress = Pick<
  RunCounts,
  'filesImported' | 'pagesRead' | 'recordsRead' | 'recordsRejected'
>;

/**
 * A run's extraction figures read back from where extraction keeps them: the files it
 * imported or was importing (source_files) and the pages it staged from pull sources
 * (watermarks). A run that fails part-way through its sources never sums its per-source
 * results into the run row; its report still tells what was staged, the failing source's
 * committed pages and lines included.
 */
export async function extractProgress(db: Knex, runId: string): Promise<ExtractProgress> {
  const files = await db('source_files')
    .where({ run_id: runId })
    .select('status', 'rows_staged', 'rows_rejected');
  const pages = await db('watermarks')
    .where({ run_id: runId })
    .select('run_pages', 'run_records', 'run_rejected');
  const progress: ExtractProgress = {
    filesImported: 0,
    pagesRead: 0,
    recordsRead: 0,
    recordsRejected: 0,
  };
  for (const file of files) {
    if (file.status === 'imported') progress.filesImported += 1;
    progress.recordsRead += Number(file.rows_staged) + Number(file.rows_rejected);
    progress.recordsRejected += Number(file.rows_rejected);
  }
  for (const page of pages) {
    progress.pagesRead += Number(page.run_pages);
    progress.recordsRead += Number(page.run_records);
    progress.recordsRejected += Number(page.run_rejected);
  }
  return progress;
}
