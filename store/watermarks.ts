import type { Knex } from 'knex';

export interface SourceProgress {
  cursor: string | null;
  /** Counts of the run that last moved the cursor. */
  runId: string | null;
  pages: number;
  records: number;
  rejected: number;
}

export async function getWatermark(
  db: Knex | Knex.Transaction,
  source: string,
): Promise<SourceProgress> {
  const row = await db('watermarks').where({ source }).first();
  if (!row) return { cursor: null, runId: null, pages: 0, records: 0, rejected: 0 };
  return {
    cursor: row.cursor,
    runId: row.run_id,
    pages: Number(row.run_pages),
    records: Number(row.run_records),
    rejected: Number(row.run_rejected),
  };
}

/**
 * Moves a source's cursor past one page and adds the page to this run's counts. Call it in the
 * transaction that staged the page: the cursor must never get ahead of the data it covers.
 */
export async function advanceWatermark(
  trx: Knex.Transaction,
  source: string,
  page: { cursor: string; runId: string; records: number; rejected: number },
  nowMs: number,
): Promise<void> {
  const before = await getWatermark(trx, source);
  const sameRun = before.runId === page.runId;
  const row = {
    source,
    cursor: page.cursor,
    updated_at_ms: nowMs,
    run_id: page.runId,
    run_pages: (sameRun ? before.pages : 0) + 1,
    run_records: (sameRun ? before.records : 0) + page.records,
    run_rejected: (sameRun ? before.rejected : 0) + page.rejected,
  };
  await trx('watermarks').insert(row).onConflict('source').merge();
}
