import { Context, log } from '@temporalio/activity';
import type { FieldType } from '../config/schema';
import type { SourcePage, SourceReader } from '../connectors/source-reader';
import { validateRow } from '../domain/validate-row';
import { recordRowErrors, type RowError } from '../store/runs';
import { stageRecords, type StageRow } from '../store/staging';
import { advanceWatermark, getWatermark } from '../store/watermarks';
import { clock, type ActivityDeps } from './deps';
import { fieldTypesFor, type ExtractSourceInput, type ExtractSourceResult } from './extract-types';

/**
 * Reads a pull source (API or table) page by page from its saved cursor. Each page is staged,
 * its rejects recorded and the cursor moved past it in one transaction, then the activity
 * heartbeats: a crash or a retry resumes after the last saved page, reading at most one page
 * again and never skipping one. Counts are kept beside the cursor, so a retry counts exactly.
 */
export async function extractPages(
  deps: ActivityDeps,
  input: ExtractSourceInput,
  reader: SourceReader,
): Promise<ExtractSourceResult> {
  const fields = fieldTypesFor(deps, input.source);
  const context = Context.current();
  const start = await getWatermark(deps.db, input.source);
  log.info('Source read started', { source: input.source, resuming: start.cursor !== null });
  try {
    for await (const page of reader.pages(start.cursor, context.cancellationSignal)) {
      const { rows, errors } = checkPage(input.source, page, fields);
      await deps.db.transaction(async (trx) => {
        const nowMs = clock(deps);
        await stageRecords(trx, rows, nowMs);
        await recordRowErrors(trx, input.runId, errors);
        await advanceWatermark(
          trx,
          input.source,
          {
            cursor: page.cursor,
            runId: input.runId,
            // Read = every record the source returned, including those the connector rejected.
            records: page.records.length + page.rejects.length,
            rejected: errors.length,
          },
          nowMs,
        );
      });
      context.heartbeat({ source: input.source, records: page.records.length });
    }
  } finally {
    await reader.close();
  }

  const done = await getWatermark(deps.db, input.source);
  const ran = done.runId === input.runId;
  const result: ExtractSourceResult = {
    filesImported: 0,
    pagesRead: ran ? done.pages : 0,
    recordsRead: ran ? done.records : 0,
    recordsRejected: ran ? done.rejected : 0,
  };
  log.info('Source read', { source: input.source, ...result });
  return result;
}

/** Checks each record against the dataset's field types; a misfit becomes a row error. */
function checkPage(
  source: string,
  page: SourcePage,
  fields: Record<string, FieldType>,
): { rows: StageRow[]; errors: RowError[] } {
  const rows: StageRow[] = [];
  const errors: RowError[] = page.rejects.map((reject) => ({
    stage: 'extract',
    source,
    fileName: reject.origin,
    recordKey: reject.recordKey,
    field: reject.field,
    reason: reject.reason,
  }));
  for (const record of page.records) {
    const staged = {
      source,
      recordKey: record.key,
      sourceUpdatedAtMs: record.updatedAtMs,
      origin: record.origin,
    };
    if (record.deleted) {
      rows.push({ ...staged, values: {}, deleted: true });
      continue;
    }
    const checked = validateRow(record.values, fields);
    if (checked.ok) rows.push({ ...staged, values: checked.values });
    else {
      const where = {
        stage: 'extract' as const,
        source,
        fileName: record.origin,
        recordKey: record.key,
      };
      errors.push({ ...where, field: checked.field, reason: checked.reason });
    }
  }
  return { rows, errors };
}
