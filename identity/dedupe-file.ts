import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import YAML from 'yaml';
import { DatasetConfig } from '../config/schema';
import { readCsv } from '../connectors/files/csv-reader';
import { BadInputError, ConfigError } from '../connectors/errors';
import { inferIdentityRules, rulesToYaml } from '../domain/identity/infer-rules';
import { migrate, openDatabase } from '../store/db';
import { stageRecords, type StageRow } from '../store/staging';
import { unifyDataset, type UnifySummary } from './unify-dataset';

/** Rows read to infer identifier columns when no rule file is given. */
const INFER_SAMPLE = 2000;
const STAGE_BATCH = 5000;

export interface DedupeFileOptions {
  file: string;
  out: string;
  /** Column identifying a row in the output; the line number when absent. */
  idColumn?: string;
  /**
   * YAML with a dataset's identity settings (keys, rules, blockedValues...); inferred if absent.
   */
  rulesFile?: string;
  delimiter?: string;
  encoding?: BufferEncoding;
  defaultCountry?: string;
}

export interface DedupeFileResult {
  rowsRead: number;
  rowsRejected: number;
  rejects: Array<{ line: number; reason: string }>;
  /** The rule set used, in the config's own YAML syntax (inferred or as given). */
  rulesYaml: string;
  inferred: boolean;
  summary: UnifySummary;
}

/**
 * Unifies one CSV export with a rule set, without Temporal or a sync: the rows go through the
 * same engine as a sync (in a throwaway SQLite database) and every input row gets a line
 * `record_id,master_id` in the output; rows held back as ambiguous get an empty master id.
 */
export async function dedupeFile(options: DedupeFileOptions): Promise<DedupeFileResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'braid-dedupe-'));
  const db = openDatabase({ client: 'sqlite', filename: path.join(dir, 'dedupe.db') });
  try {
    await migrate(db);
    const rows = readCsv(createReadStream(options.file), {
      fileName: options.file,
      delimiter: options.delimiter,
      encoding: options.encoding,
    });
    const rejects: DedupeFileResult['rejects'] = [];
    const sample: Array<Record<string, string>> = [];
    let headers: string[] = [];
    let batch: StageRow[] = [];
    let rowsRead = 0;
    for await (const item of rows) {
      if (item.kind === 'header') {
        headers = item.columns;
        if (options.idColumn && !headers.includes(options.idColumn)) {
          throw new ConfigError(
            `${options.file}: no column "${options.idColumn}" (columns: ${headers.join(', ')})`,
          );
        }
        continue;
      }
      rowsRead += 1;
      if (item.kind === 'reject') {
        rejects.push({ line: item.line, reason: item.reason });
        continue;
      }
      if (sample.length < INFER_SAMPLE) sample.push(item.values);
      // The line number keeps staged rows apart (ids in an export are not always unique); the id
      // is shown beside it so sample pairs and ambiguous records read as the user's own ids.
      const id = options.idColumn ? item.values[options.idColumn] : undefined;
      const recordKey = id ? `${id} (line ${item.line})` : `line ${item.line}`;
      batch.push({
        source: 'file',
        recordKey,
        values: item.values,
        sourceUpdatedAtMs: null,
        origin: String(item.line),
      });
      if (batch.length >= STAGE_BATCH) {
        await stageRecords(db, batch, 1);
        batch = [];
      }
    }
    await stageRecords(db, batch, 1);

    const { dataset, rulesYaml, inferred } = rulesFor(options, headers, sample);
    const summary = await unifyDataset(db, 'file', dataset, { runId: 'dedupe-file', nowMs: 2 });
    await writeAssignments(db, options);
    return { rowsRead, rowsRejected: rejects.length, rejects, rulesYaml, inferred, summary };
  } finally {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

function rulesFor(
  options: DedupeFileOptions,
  headers: string[],
  sample: Array<Record<string, string>>,
): { dataset: DatasetConfig; rulesYaml: string; inferred: boolean } {
  if (options.rulesFile) {
    const text = readText(options.rulesFile);
    const parsed = DatasetConfig.safeParse({ sources: ['file'], ...(YAML.parse(text) ?? {}) });
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ConfigError(
        `${options.rulesFile}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`,
      );
    }
    for (const key of parsed.data.keys) {
      const missing = key.columns.filter((c) => !headers.includes(c));
      if (missing.length > 0) {
        throw new ConfigError(
          `${options.rulesFile}: key "${key.name}" uses ${missing.join(', ')}, not in ${options.file}`,
        );
      }
    }
    return { dataset: parsed.data, rulesYaml: text, inferred: false };
  }
  const inferredRules = inferIdentityRules(headers, sample, {
    defaultCountry: options.defaultCountry,
  });
  if (inferredRules.keys.length === 0) {
    throw new BadInputError(`${options.file}: no identifier column recognised; give --rules`);
  }
  const dataset = DatasetConfig.parse({
    sources: ['file'],
    keys: inferredRules.keys,
    rules: inferredRules.rules,
    ...(options.defaultCountry ? { defaultCountry: options.defaultCountry } : {}),
  });
  return { dataset, rulesYaml: rulesToYaml(inferredRules), inferred: true };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read rules file ${file}`, error);
  }
}

/** Streams `record_id,master_id` in input order, a page of rows at a time. */
async function writeAssignments(
  db: ReturnType<typeof openDatabase>,
  options: DedupeFileOptions,
): Promise<void> {
  const out = createWriteStream(options.out);
  const write = async (line: string) => {
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  };
  await write('record_id,master_id');
  let after = 0;
  for (;;) {
    const rows = await db('source_records as s')
      .leftJoin('identity_members as m', 'm.record_id', 's.id')
      .leftJoin('golden_records as g', 'g.id', 'm.golden_id')
      .where('s.id', '>', after)
      .orderBy('s.id')
      .limit(5000)
      .select('s.id', 's.origin', 's.payload', 'g.master_id');
    if (rows.length === 0) break;
    for (const row of rows) {
      const values = JSON.parse(row.payload) as Record<string, string>;
      const id = options.idColumn ? (values[options.idColumn] ?? '') : row.origin;
      await write(`${csvField(id)},${csvField(row.master_id ?? '')}`);
    }
    after = Number(rows[rows.length - 1].id);
  }
  out.end();
  await once(out, 'finish');
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
