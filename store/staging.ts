import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { chunk } from '../domain/diff';

/** One record ready to stage; `values` are already validated. */
export interface StageRow {
  source: string;
  recordKey: string;
  values: Record<string, string>;
  sourceUpdatedAtMs: number | null;
  /** Where the record came from, e.g. `customers.csv:12`. */
  origin: string;
  /** The source reports the record deleted: it is marked so, and leaves its golden record. */
  deleted?: boolean;
}

const INSERT_CHUNK = 500;

/**
 * Upserts records by (source, record key). A record whose content did not change keeps its row
 * untouched, so its staging time still says when it last really changed. Idempotent.
 */
export async function stageRecords(
  db: Knex | Knex.Transaction,
  rows: StageRow[],
  nowMs: number,
): Promise<void> {
  const latest = new Map<string, StageRow>();
  for (const row of rows) latest.set(`${row.source}\u0000${row.recordKey}`, row);
  const live = [...latest.values()].filter((row) => !row.deleted);
  const gone = [...latest.values()].filter((row) => row.deleted);

  // A deletion keeps the last known values (lineage, history); only the mark changes.
  for (const row of gone) {
    await db('source_records')
      .where({ source: row.source, record_key: row.recordKey })
      .whereNull('deleted_at_ms')
      .update({ deleted_at_ms: nowMs, staged_at_ms: nowMs });
  }

  for (const part of chunk(live, INSERT_CHUNK)) {
    const records = part.map((row) => {
      const payload = JSON.stringify(row.values);
      return {
        source: row.source,
        record_key: row.recordKey,
        payload,
        content_hash: createHash('sha256').update(payload).digest('hex'),
        source_updated_at_ms: row.sourceUpdatedAtMs,
        staged_at_ms: nowMs,
        origin: row.origin,
        deleted_at_ms: null,
      };
    });
    await db('source_records')
      .insert(records)
      .onConflict(['source', 'record_key'])
      .merge([
        'payload',
        'content_hash',
        'source_updated_at_ms',
        'staged_at_ms',
        'origin',
        'deleted_at_ms',
      ])
      // Unchanged content keeps its row (and staging time), unless it comes back from deletion.
      .where((q) =>
        q
          .where('source_records.content_hash', '<>', db.raw('excluded.content_hash'))
          .orWhereNotNull('source_records.deleted_at_ms'),
      );
  }
}

export interface SourceFileState {
  fileName: string;
  sizeBytes: number;
  modifiedAtMs: number;
  /**
   * `failed`: the file cannot be read (no header, a record over 16 MiB...); kept until it
   * changes.
   */
  status: 'importing' | 'imported' | 'failed';
  linesDone: number;
  rowsStaged: number;
  rowsRejected: number;
}

/** What is known about a file of a source: imported, half-imported (and how far), or new. */
export async function getSourceFile(
  db: Knex,
  source: string,
  fileName: string,
): Promise<SourceFileState | undefined> {
  const row = await db('source_files').where({ source, file_name: fileName }).first();
  if (!row) return undefined;
  return {
    fileName,
    sizeBytes: Number(row.size_bytes),
    modifiedAtMs: Number(row.modified_at_ms),
    status: row.status,
    linesDone: Number(row.lines_done),
    rowsStaged: Number(row.rows_staged),
    rowsRejected: Number(row.rows_rejected),
  };
}

/** Records progress through a file; `status: 'imported'` marks it done for good. */
export async function saveSourceFile(
  db: Knex | Knex.Transaction,
  source: string,
  state: SourceFileState,
  runId: string,
  nowMs: number,
): Promise<void> {
  await db('source_files')
    .insert({
      source,
      file_name: state.fileName,
      size_bytes: state.sizeBytes,
      modified_at_ms: state.modifiedAtMs,
      status: state.status,
      lines_done: state.linesDone,
      rows_staged: state.rowsStaged,
      rows_rejected: state.rowsRejected,
      run_id: runId,
      imported_at_ms: state.status === 'imported' ? nowMs : null,
    })
    .onConflict(['source', 'file_name'])
    .merge();
}

export interface StagedRecord {
  id: number;
  source: string;
  recordKey: string;
  values: Record<string, string>;
  sourceUpdatedAtMs: number | null;
  stagedAtMs: number;
}

/** All staged records of the given sources, in id order (for tests and small tools). */
export async function loadStagedRecords(db: Knex, sources: string[]): Promise<StagedRecord[]> {
  const rows = await db('source_records')
    .whereIn('source', sources)
    .orderBy('id')
    .select('id', 'source', 'record_key', 'payload', 'source_updated_at_ms', 'staged_at_ms');
  return rows.map((r) => ({
    id: Number(r.id),
    source: r.source,
    recordKey: r.record_key,
    values: JSON.parse(r.payload),
    sourceUpdatedAtMs: r.source_updated_at_ms === null ? null : Number(r.source_updated_at_ms),
    stagedAtMs: Number(r.staged_at_ms),
  }));
}
