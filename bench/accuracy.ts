import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { readCsv } from '../connectors/files/csv-reader';
import { unifyDataset, type UnifySummary } from '../identity/unify-dataset';
import { migrate } from '../store/db';
import { stageRecords, type StageRow } from '../store/staging';
import { openTarget, sqliteTarget } from './bench-db';
import { pairwiseScore, type PairwiseScore } from './pairwise-score';
import { benchDataset } from './rules';

const DATA_DIR = findDataDir();

/**
 * The project's examples/data, from bench/ or from a compiled copy (dist/bench, or an outDir
 * elsewhere, run from the project root).
 */
function findDataDir(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const data = path.join(dir, 'examples', 'data');
    if (existsSync(path.join(data, 'splink'))) return data;
  }
  return path.join(process.cwd(), 'examples', 'data');
}

/** A public file (or pair of files) with a known true clustering. */
export interface AccuracyCase {
  name: string;
  /** Paths under examples/data; each file is one source named after it. */
  files: string[];
  idColumn: string;
  /** The true entity of a row. */
  truth(values: Readonly<Record<string, string>>): string;
}

/** Febrl marks each record `rec-<entity>-org` or `rec-<entity>-dup-<n>`. */
const febrlEntity = (values: Readonly<Record<string, string>>) =>
  /^rec-(\d+)-/.exec(values.rec_id!.trim())?.[1] ?? '';

export const ACCURACY_CASES: AccuracyCase[] = [
  {
    name: 'splink fake_1000',
    files: ['splink/fake_1000.csv'],
    idColumn: 'unique_id',
    truth: (values) => values.cluster!.trim(),
  },
  { name: 'febrl dataset1', files: ['febrl/dataset1.csv'], idColumn: 'rec_id', truth: febrlEntity },
  {
    name: 'febrl dataset4a+4b',
    files: ['febrl/dataset4a.csv', 'febrl/dataset4b.csv'],
    idColumn: 'rec_id',
    truth: febrlEntity,
  },
];

/** How one case scored. */
export interface AccuracyResult {
  name: string;
  rules: string;
  goldenRecords: number;
  summary: UnifySummary;
  score: PairwiseScore;
  /** `source:record key` → master id ('' for a record held back as ambiguous). */
  predicted: Map<string, string>;
}

interface ReadFile {
  source: string;
  headers: string[];
  rows: Array<Record<string, string>>;
}

async function readFile(relative: string): Promise<ReadFile> {
  const fileName = path.basename(relative);
  const rows: Array<Record<string, string>> = [];
  let headers: string[] = [];
  for await (const item of readCsv(createReadStream(path.join(DATA_DIR, relative)), { fileName })) {
    if (item.kind === 'header') headers = item.columns;
    else if (item.kind === 'row') rows.push(item.values);
    else throw new Error(`${fileName}:${item.line}: ${item.reason}`);
  }
  return { source: fileName.replace(/\.csv$/, ''), headers, rows };
}

/**
 * Stages the case's files into `db` (already migrated and empty), unifies them with the rules
 * inferred from the first file, and scores the golden records against the true entities.
 */
export async function scoreCase(db: Knex, spec: AccuracyCase): Promise<AccuracyResult> {
  const files = await Promise.all(spec.files.map(readFile));
  const first = files[0]!;
  const rules = benchDataset(first.headers, first.rows, { sources: files.map((f) => f.source) });

  const truth: Array<[string, string]> = [];
  for (const file of files) {
    const staged: StageRow[] = file.rows.map((values) => {
      const key = values[spec.idColumn]!.trim();
      truth.push([`${file.source}:${key}`, spec.truth(values)]);
      return { source: file.source, recordKey: key, values, sourceUpdatedAtMs: null, origin: key };
    });
    await stageRecords(db, staged, 1);
  }
  const summary = await unifyDataset(db, 'bench', rules.dataset, { runId: 'bench', nowMs: 2 });

  const members = await db('identity_members as m')
    .join('source_records as s', 's.id', 'm.record_id')
    .leftJoin('golden_records as g', 'g.id', 'm.golden_id')
    .where('m.dataset', 'bench')
    .select('s.source', 's.record_key', 'g.master_id');
  const predicted = new Map<string, string>(
    members.map((m) => [`${m.source}:${m.record_key}`, m.master_id ?? '']),
  );
  const score = pairwiseScore(predicted, truth);
  const { goldenRecords } = summary;
  return { name: spec.name, rules: rules.summary, goldenRecords, summary, score, predicted };
}

/** Every accuracy case, each in a fresh SQLite file. */
export async function scoreAll(cases = ACCURACY_CASES): Promise<AccuracyResult[]> {
  const out: AccuracyResult[] = [];
  for (const spec of cases) {
    const { target, drop } = sqliteTarget('accuracy');
    const db = openTarget(target);
    try {
      await migrate(db);
      out.push(await scoreCase(db, spec));
    } finally {
      await db.destroy();
      drop();
    }
  }
  return out;
}
