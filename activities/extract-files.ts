import { Context, log } from '@temporalio/activity';
import { readCsv } from '../connectors/files/csv-reader';
import { SftpSource } from '../connectors/sftp/source';
import { resolveSecret } from '../config/load';
import type { FieldType, SftpSourceConfig } from '../config/schema';
import { validateRow } from '../domain/validate-row';
import { isBlank, parseTimestampMs } from '../domain/normalize';
import { getSourceFile, saveSourceFile, stageRecords, type SourceFileState, type StageRow } from '../store/staging';
import { recordRowErrors, type RowError } from '../store/runs';
import { clock, type ActivityDeps } from './deps';
import { fieldTypesFor, type ExtractSourceInput, type ExtractSourceResult } from './extract-types';

/** Rows staged per transaction; also how often progress is saved and heartbeated. */
const STAGE_BATCH_ROWS = 500;

/**
 * Imports every new file of an SFTP source into staging. Each file is imported once: progress
 * is saved with the staged rows in one transaction, so a retried attempt resumes after the last
 * saved line, and a file is marked imported only after all its rows are staged. A file that
 * changes later (new size or modification time) is imported again as a new version.
 */
export async function extractFiles(
  deps: ActivityDeps,
  input: ExtractSourceInput,
  config: SftpSourceConfig,
): Promise<ExtractSourceResult> {
  const fields = fieldTypesFor(deps, input.source);
  const sftp = new SftpSource(
    {
      host: config.host,
      port: config.port,
      username: config.username,
      password: config.password && resolveSecret(config.password, `sources.${input.source}.password`),
      privateKey: config.privateKey && resolveSecret(config.privateKey, `sources.${input.source}.privateKey`),
    },
    { directory: config.directory, pattern: new RegExp(config.pattern) },
  );

  await sftp.connect();
  try {
    for (const file of await sftp.listMatching()) {
      const known = await getSourceFile(deps.db, input.source, file.name);
      const sameVersion = known?.sizeBytes === file.sizeBytes && known?.modifiedAtMs === file.modifiedAtMs;
      if (known?.status === 'imported' && sameVersion) continue;

      const start: SourceFileState =
        known && sameVersion
          ? known
          : { fileName: file.name, sizeBytes: file.sizeBytes, modifiedAtMs: file.modifiedAtMs, status: 'importing', linesDone: 0, rowsStaged: 0, rowsRejected: 0 };
      await importFile(deps, input, config, fields, sftp, start);
    }
  } finally {
    await sftp.end();
  }
  return summarize(deps, input);
}

async function importFile(
  deps: ActivityDeps,
  input: ExtractSourceInput,
  config: SftpSourceConfig,
  fields: Record<string, FieldType>,
  sftp: SftpSource,
  start: SourceFileState,
): Promise<void> {
  const state: SourceFileState = { ...start, status: 'importing' };
  const file = state.fileName;
  let rows: StageRow[] = [];
  let errors: RowError[] = [];
  let lastLine = state.linesDone;

  const flush = async () => {
    const nowMs = clock(deps);
    state.linesDone = lastLine;
    await deps.db.transaction(async (trx) => {
      await stageRecords(trx, rows, nowMs);
      await recordRowErrors(trx, input.runId, errors);
      await saveSourceFile(trx, input.source, state, input.runId, nowMs);
    });
    Context.current().heartbeat({ file, line: lastLine });
    rows = [];
    errors = [];
  };

  log.info('File import started', { source: input.source, file, resumeAfterLine: state.linesDone });
  for await (const item of readCsv(sftp.openReadStream(file), {
    fileName: file,
    delimiter: config.format.delimiter,
    encoding: config.format.encoding,
  })) {
    if (item.kind === 'header' || item.line <= state.linesDone) continue;
    lastLine = item.line;
    if (item.kind === 'reject') {
      errors.push({ stage: 'extract', source: input.source, fileName: file, line: item.line, reason: item.reason });
      state.rowsRejected += 1;
    } else {
      const outcome = toStageRow(input.source, config, fields, file, item.line, item.values);
      if ('reason' in outcome) {
        errors.push(outcome);
        state.rowsRejected += 1;
      } else {
        rows.push(outcome);
        state.rowsStaged += 1;
      }
    }
    if (rows.length + errors.length >= STAGE_BATCH_ROWS) await flush();
  }
  state.status = 'imported';
  await flush();
  log.info('File imported', {
    source: input.source,
    file,
    recordCount: state.rowsStaged,
    rejectedCount: state.rowsRejected,
  });
}

function toStageRow(
  source: string,
  config: SftpSourceConfig,
  fields: Record<string, FieldType>,
  file: string,
  line: number,
  values: Record<string, string>,
): StageRow | RowError {
  const where = { stage: 'extract' as const, source, fileName: file, line };
  const key = values[config.recordKey];
  if (key === undefined || isBlank(key)) {
    return { ...where, field: config.recordKey, reason: 'missing record key' };
  }
  const checked = validateRow(values, fields);
  if (!checked.ok) return { ...where, recordKey: key.trim(), field: checked.field, reason: checked.reason };

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
  return { source, recordKey: key.trim(), values: checked.values, sourceUpdatedAtMs: updatedAtMs, origin: `${file}:${line}` };
}

/** Counts come from the files this run touched, so a retried attempt never double-counts. */
async function summarize(deps: ActivityDeps, input: ExtractSourceInput): Promise<ExtractSourceResult> {
  const rows = await deps.db('source_files')
    .where({ source: input.source, run_id: input.runId, status: 'imported' })
    .select('rows_staged', 'rows_rejected');
  const result: ExtractSourceResult = { filesImported: rows.length, recordsRead: 0, recordsRejected: 0 };
  for (const row of rows) {
    result.recordsRead += Number(row.rows_staged) + Number(row.rows_rejected);
    result.recordsRejected += Number(row.rows_rejected);
  }
  return result;
}
