import { Context, log } from '@temporalio/activity';
import type { Knex } from 'knex';
import { readFileRecords, recordOrigin, type FileRecord } from '../connectors/files/file-records';
import { convertNumbers } from '../connectors/files/number-locale';
import { matcherFor } from '../connectors/sftp/file-names';
import { SftpSource, type RemoteFile } from '../connectors/sftp/source';
import { decideFile, type KnownFile } from '../connectors/sftp/stability';
import { resolveSecret } from '../config/load';
import { BadInputError } from '../connectors/errors';
import type { FieldType, SftpSourceConfig } from '../config/schema';
import { validateRow } from '../domain/validate-row';
import { isBlank, parseTimestampMs } from '../domain/normalize';
import {
  saveSourceFile,
  stageRecords,
  type SourceFileState,
  type StageRow,
} from '../store/staging';
import { recordRowErrors, type RowError } from '../store/runs';
import { clock, type ActivityDeps } from './deps';
import { fieldTypesFor, type ExtractSourceInput, type ExtractSourceResult } from './extract-types';

/** Rows staged per transaction; also how often progress is saved and heartbeated. */
const STAGE_BATCH_ROWS = 500;

/** What the database holds about one file beyond the stability fields. */
type KnownRow = KnownFile &
  Omit<SourceFileState, 'status'> & { typeReview: Record<string, number> };

/** Everything one file's import needs besides the file itself. */
interface ImportContext {
  deps: ActivityDeps;
  input: ExtractSourceInput;
  config: SftpSourceConfig;
  fields: Record<string, FieldType>;
  sftp: SftpSource;
}

/**
 * Imports the new files of an SFTP source into staging. A file is imported only once two
 * listings `stableSeconds` apart showed the same size and mtime (the first such listing is kept
 * in `source_files`, so the window spans runs and restarts). Progress is saved with the staged
 * rows in one transaction, so a retried attempt resumes after the last saved line or record,
 * and a file is marked imported only after all its records are staged. In `auto` mode a file
 * that changes later is imported again as a new version; in `once` mode it never is. A file
 * that could not be archived after its import is moved on the next run, never imported again.
 */
export async function extractFiles(
  deps: ActivityDeps,
  input: ExtractSourceInput,
  config: SftpSourceConfig,
): Promise<ExtractSourceResult> {
  const names = matcherFor(config);
  const sftp = new SftpSource(
    {
      host: config.host,
      port: config.port,
      username: config.username,
      password:
        config.password && resolveSecret(config.password, `sources.${input.source}.password`),
      privateKey:
        config.privateKey && resolveSecret(config.privateKey, `sources.${input.source}.privateKey`),
    },
    { directory: config.directory, names },
  );
  const ctx: ImportContext = {
    deps,
    input,
    config,
    fields: fieldTypesFor(deps, input.source),
    sftp,
  };

  await sftp.connect();
  try {
    const known = await loadKnownFiles(deps.db, input.source);
    const sourceStarted = known.size > 0;
    for (const file of await sftp.listMatching()) {
      await handleFile(ctx, file, known.get(file.name), sourceStarted);
    }
  } finally {
    await sftp.end();
  }
  return summarize(deps, input);
}

async function handleFile(
  ctx: ImportContext,
  file: RemoteFile,
  known: KnownRow | undefined,
  sourceStarted: boolean,
): Promise<void> {
  const { deps, input, config } = ctx;
  const nowMs = clock(deps);
  const decision = decideFile({
    listed: file,
    known,
    nowMs,
    stableMs: config.stableSeconds * 1000,
    mode: config.mode,
    sourceStarted,
  });
  const where = { source: input.source, file: file.name };
  if ('newVersion' in decision && decision.newVersion) {
    log.info('File changed after import', { ...where, sizeBytes: file.sizeBytes });
  }

  switch (decision.action) {
    case 'done':
      // Still listed after its import: the move to the archive failed last time.
      if (config.archive) await archiveFile(ctx, file);
      return;
    case 'ignore':
      log.info('File ignored', { ...where, reason: decision.reason });
      return;
    case 'wait':
      if (decision.changed) await rememberSeen(deps.db, input.source, file, decision.seenSinceMs);
      log.info('File not stable yet', { ...where, seenSinceMs: decision.seenSinceMs });
      return;
    case 'import': {
      const resumed = decision.resume && known ? known : freshState(file);
      const start: SourceFileState = { ...resumed, status: 'importing' };
      const typeReview = decision.resume && known ? known.typeReview : {};
      try {
        await importFile(ctx, file, start, typeReview);
      } catch (error) {
        // One unreadable file (no header, a runaway quote) must not stop the others: it is
        // marked failed and reported, and tried again only once it changes.
        if (!(error instanceof BadInputError)) throw error;
        await markFailed(ctx, file, start, error.message);
        return;
      }
      if (config.archive) await archiveFile(ctx, file);
    }
  }
}

async function markFailed(
  ctx: ImportContext,
  file: RemoteFile,
  start: SourceFileState,
  reason: string,
) {
  const { deps, input } = ctx;
  const nowMs = clock(deps);
  await deps.db.transaction(async (trx) => {
    const error: RowError = { stage: 'extract', source: input.source, fileName: file.name, reason };
    await recordRowErrors(trx, input.runId, [error]);
    await saveSourceFile(trx, input.source, { ...start, status: 'failed' }, input.runId, nowMs);
  });
  log.warn('File failed', { source: input.source, file: file.name, reason });
}

function freshState(file: RemoteFile): Omit<SourceFileState, 'status'> {
  return {
    fileName: file.name,
    sizeBytes: file.sizeBytes,
    modifiedAtMs: file.modifiedAtMs,
    linesDone: 0,
    rowsStaged: 0,
    rowsRejected: 0,
  };
}

async function importFile(
  ctx: ImportContext,
  file: RemoteFile,
  start: SourceFileState,
  typeReview: Record<string, number>,
): Promise<void> {
  const { deps, input, config } = ctx;
  const state: SourceFileState = { ...start, status: 'importing' };
  const numberFields = Object.keys(ctx.fields).filter((f) => ctx.fields[f] === 'number');
  let rows: StageRow[] = [];
  let errors: RowError[] = [];
  let position = state.linesDone;

  const flush = async () => {
    const nowMs = clock(deps);
    state.linesDone = position;
    await deps.db.transaction(async (trx) => {
      await stageRecords(trx, rows, nowMs);
      await recordRowErrors(trx, input.runId, errors);
      await saveSourceFile(trx, input.source, state, input.runId, nowMs);
      await trx('source_files')
        .where({ source: input.source, file_name: file.name })
        .update({
          seen_since_ms: null,
          file_date: file.fileDate ?? null,
          type_review: Object.keys(typeReview).length > 0 ? JSON.stringify(typeReview) : null,
        });
    });
    Context.current().heartbeat({ file: file.name, position });
    rows = [];
    errors = [];
  };

  log.info('File import started', {
    source: input.source,
    file: file.name,
    resumeAfter: state.linesDone,
  });
  const stream = ctx.sftp.openReadStream(file.name);
  for await (const record of readFileRecords(stream, config.format, file.name)) {
    if (record.position <= state.linesDone) continue;
    position = record.position;
    const outcome = toStageRow(ctx, file, record, numberFields, typeReview);
    if ('reason' in outcome) {
      errors.push(outcome);
      state.rowsRejected += 1;
    } else {
      rows.push(outcome);
      state.rowsStaged += 1;
    }
    if (rows.length + errors.length >= STAGE_BATCH_ROWS) await flush();
  }
  state.status = 'imported';
  await flush();
  if (Object.keys(typeReview).length > 0) {
    log.warn('Number fields kept as text', { source: input.source, file: file.name, typeReview });
  }
  log.info('File imported', {
    source: input.source,
    file: file.name,
    recordCount: state.rowsStaged,
    rejectedCount: state.rowsRejected,
  });
}

function toStageRow(
  ctx: ImportContext,
  file: RemoteFile,
  record: FileRecord,
  numberFields: string[],
  typeReview: Record<string, number>,
): StageRow | RowError {
  const { config, input } = ctx;
  const where = {
    stage: 'extract' as const,
    source: input.source,
    fileName: file.name,
    line: record.line,
  };
  const locator = config.format.type === 'json' ? `record ${record.position}: ` : '';
  if (record.kind === 'reject') return { ...where, reason: `${locator}${record.reason}` };

  const key = record.values[config.recordKey];
  if (key === undefined || isBlank(key)) {
    return { ...where, field: config.recordKey, reason: `${locator}missing record key` };
  }
  const converted = convertNumbers(record.values, numberFields, config.format.numberLocale);
  if (!converted.ok)
    return { ...where, recordKey: key.trim(), field: converted.field, reason: converted.reason };
  // A flagged number stays text for this record: rejecting it would lose a good row, and reading
  // it as a plain number would turn 1.234,50 into 1.234.
  const fields = { ...ctx.fields };
  for (const field of converted.flagged) {
    fields[field] = 'string';
    typeReview[field] = (typeReview[field] ?? 0) + 1;
  }
  const checked = validateRow(converted.values, fields);
  if (!checked.ok)
    return { ...where, recordKey: key.trim(), field: checked.field, reason: checked.reason };

  let updatedAtMs: number | null = null;
  if (config.updatedAt) {
    const raw = checked.values[config.updatedAt];
    if (raw) {
      const parsed = parseTimestampMs(raw);
      if (parsed === undefined) {
        const reason = 'not an ISO 8601 timestamp';
        return { ...where, recordKey: key.trim(), field: config.updatedAt, reason };
      }
      updatedAtMs = parsed;
    }
  }
  const origin = recordOrigin(config.format.type, file.name, record);
  return {
    source: input.source,
    recordKey: key.trim(),
    values: checked.values,
    sourceUpdatedAtMs: updatedAtMs,
    origin: file.fileDate ? `${origin} (dated ${file.fileDate})` : origin,
  };
}

/** Moves an imported file to the archive; a failure is logged and retried on the next run. */
async function archiveFile(ctx: ImportContext, file: RemoteFile): Promise<void> {
  const { deps, input, config } = ctx;
  try {
    const target = await ctx.sftp.moveTo(file, config.archive!.directory);
    await deps
      .db('source_files')
      .where({ source: input.source, file_name: file.name })
      .update({ archived_to: target, archived_at_ms: clock(deps) });
    log.info('File archived', { source: input.source, file: file.name });
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    log.warn('File not archived', { source: input.source, file: file.name, error });
  }
}

/** Opens (or restarts) the stability window of a file at the listing that first showed it. */
async function rememberSeen(
  db: Knex,
  source: string,
  file: RemoteFile,
  sinceMs: number,
): Promise<void> {
  const row = {
    source,
    file_name: file.name,
    size_bytes: file.sizeBytes,
    modified_at_ms: file.modifiedAtMs,
    status: 'seen',
    lines_done: 0,
    rows_staged: 0,
    rows_rejected: 0,
    run_id: null,
    imported_at_ms: null,
    seen_since_ms: sinceMs,
    file_date: file.fileDate ?? null,
    archived_to: null,
    archived_at_ms: null,
    type_review: null,
  };
  await db('source_files').insert(row).onConflict(['source', 'file_name']).merge();
}

async function loadKnownFiles(db: Knex, source: string): Promise<Map<string, KnownRow>> {
  const rows = await db('source_files').where({ source });
  const known = new Map<string, KnownRow>();
  for (const row of rows) {
    known.set(row.file_name, {
      fileName: row.file_name,
      sizeBytes: Number(row.size_bytes),
      modifiedAtMs: Number(row.modified_at_ms),
      status: row.status,
      seenSinceMs: row.seen_since_ms === null ? null : Number(row.seen_since_ms),
      linesDone: Number(row.lines_done),
      rowsStaged: Number(row.rows_staged),
      rowsRejected: Number(row.rows_rejected),
      typeReview: row.type_review ? JSON.parse(row.type_review) : {},
    });
  }
  return known;
}

/** Counts come from the files this run touched, so a retried attempt never double-counts. */
async function summarize(
  deps: ActivityDeps,
  input: ExtractSourceInput,
): Promise<ExtractSourceResult> {
  const rows = await deps
    .db('source_files')
    .where({ source: input.source, run_id: input.runId, status: 'imported' })
    .select('rows_staged', 'rows_rejected');
  const result: ExtractSourceResult = {
    filesImported: rows.length,
    pagesRead: 0,
    recordsRead: 0,
    recordsRejected: 0,
  };
  for (const row of rows) {
    result.recordsRead += Number(row.rows_staged) + Number(row.rows_rejected);
    result.recordsRejected += Number(row.rows_rejected);
  }
  return result;
}
