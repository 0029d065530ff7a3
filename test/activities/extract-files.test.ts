import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { asyncLocalStorage, Context } from '@temporalio/activity';
import { noopMetricMeter } from '@temporalio/common';
import type { Knex } from 'knex';
import SftpClient from 'ssh2-sftp-client';

import type { ActivityDeps } from '../../activities/deps';
import { extractFiles } from '../../activities/extract-files';
import { parseConfig } from '../../config/load';
import type { BraidConfig, SftpSourceConfig } from '../../config/schema';
import { startSftpServer, type RunningSftpServer } from '../../emulators/sftp/server';
import { migrate, openDatabase } from '../../store/db';
import { loadStagedRecords } from '../../store/staging';

const USER = 'partner';
const PASSWORD = 'extract-files-test-password';
const QUIET = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const at = (iso: string): number => Date.parse(iso);

/** Runs `body` as an activity would run: with a Context whose heartbeat the test controls. */
function inActivity<T>(body: () => Promise<T>, heartbeat: (details?: unknown) => void = () => {}) {
  const info = { activityId: 'extract', activityType: 'extractSource', attempt: 1 };
  const context = new Context(
    info as never,
    new Promise<never>(() => undefined),
    new AbortController().signal,
    heartbeat,
    undefined,
    QUIET,
    noopMetricMeter,
    {} as never,
  );
  return asyncLocalStorage.run(context, body);
}

describe('extractFiles', () => {
  let root: string;
  let server: RunningSftpServer;
  let db: Knex;
  let dbDir: string;
  let nowMs: number;
  let runs = 0;

  beforeEach(async () => {
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'braid-extract-files-'));
    await fsp.mkdir(path.join(root, 'drop'));
    server = await startSftpServer({ root, username: USER, password: PASSWORD });
    dbDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'braid-extract-db-'));
    db = openDatabase({ client: 'sqlite', filename: path.join(dbDir, 'braid.db') });
    await migrate(db);
    process.env.EXTRACT_FILES_SFTP_PASSWORD = PASSWORD;
  });

  afterEach(async () => {
    await db.destroy();
    await server.stop();
    await fsp.rm(root, { recursive: true, force: true });
    await fsp.rm(dbDir, { recursive: true, force: true });
  });

  /** A config with one SFTP source `drop`, the given source settings and dataset fields. */
  function configWith(source: string, fields = '{ email: email }'): BraidConfig {
    const yaml = `
database: { client: sqlite, filename: unused.db }
sources:
  drop:
    type: sftp
    host: 127.0.0.1
    port: ${server.port}
    username: ${USER}
    password: { env: EXTRACT_FILES_SFTP_PASSWORD }
    directory: /drop
    recordKey: email
${source
  .trim()
  .split('\n')
  .map((line) => `    ${line}`)
  .join('\n')}
datasets:
  people:
    sources: [drop]
    fields: ${fields}
    keys: [{ name: email, columns: [email], normalize: email }]
destinations: {}
syncs: {}
`;
    return parseConfig(yaml, path.join(dbDir, 'braid.yaml'));
  }

  async function run(config: BraidConfig, heartbeat?: (details?: unknown) => void) {
    const deps: ActivityDeps = { config, db, now: () => nowMs };
    const source = config.sources.drop as SftpSourceConfig;
    const input = { runId: `run-${++runs}`, source: 'drop' };
    return inActivity(() => extractFiles(deps, input, source), heartbeat);
  }

  async function upload(name: string, text: string, mode: 'put' | 'append' = 'put') {
    const client = new SftpClient();
    await client.connect({
      host: server.host,
      port: server.port,
      username: USER,
      password: PASSWORD,
    });
    try {
      if (mode === 'put') await client.put(Buffer.from(text), `/drop/${name}`);
      else await client.append(Buffer.from(text), `/drop/${name}`);
    } finally {
      await client.end();
    }
  }

  async function setMtime(name: string, iso: string) {
    await fsp.utimes(path.join(root, 'drop', name), new Date(iso), new Date(iso));
  }

  async function fileRow(name: string) {
    return db('source_files').where({ source: 'drop', file_name: name }).first();
  }

  it('imports a file only after two listings 60 s apart saw the same size and mtime (BL-06)', async () => {
    const config = configWith(`pattern: '^contacts_\\d{8}\\.csv$'`);
    await upload('contacts_20260302.csv', 'email,first_name\nlea@example.org,Léa\n');
    await setMtime('contacts_20260302.csv', '2026-03-02T08:59:58Z');
    await upload('contacts_20260303.csv.part', 'email\nhalf@example.org\n');

    nowMs = at('2026-03-02T09:00:00Z');
    const first = await run(config);
    await upload('contacts_20260302.csv', 'jonas@example.de,Jonas\n', 'append');
    await setMtime('contacts_20260302.csv', '2026-03-02T09:00:55Z');
    nowMs = at('2026-03-02T09:01:00Z');
    const second = await run(config);
    const waiting = await fileRow('contacts_20260302.csv');
    nowMs = at('2026-03-02T09:02:00Z');
    const third = await run(config);
    nowMs = at('2026-03-02T09:03:00Z');
    const fourth = await run(config);

    expect([first, second, third, fourth].map((r) => r.filesImported)).toEqual([0, 0, 1, 0]);
    expect(waiting).toMatchObject({ status: 'seen', seen_since_ms: at('2026-03-02T09:01:00Z') });
    expect(third).toEqual({ filesImported: 1, pagesRead: 0, recordsRead: 2, recordsRejected: 0 });
    expect(await fileRow('contacts_20260303.csv.part')).toBeUndefined();
    const staged = await loadStagedRecords(db, ['drop']);
    expect(staged.map((r) => r.values)).toEqual([
      { email: 'lea@example.org', first_name: 'Léa' },
      { email: 'jonas@example.de', first_name: 'Jonas' },
    ]);
  });

  it('waits again for a file that changes after import, then imports the new version', async () => {
    const config = configWith(`pattern: '^contacts_\\d{8}\\.csv$'\nstableSeconds: 30`);
    await upload('contacts_20260302.csv', 'email,first_name\nlea@example.org,Léa\n');
    await setMtime('contacts_20260302.csv', '2026-03-02T08:00:00Z');
    nowMs = at('2026-03-02T09:00:00Z');
    await run(config);
    nowMs = at('2026-03-02T09:00:30Z');
    const imported = await run(config);

    await upload('contacts_20260302.csv', 'email,first_name\nlea@example.org,Lea-Marie\n');
    await setMtime('contacts_20260302.csv', '2026-03-02T09:05:00Z');
    nowMs = at('2026-03-02T09:06:00Z');
    const changed = await run(config);
    nowMs = at('2026-03-02T09:06:29Z');
    const early = await run(config);
    nowMs = at('2026-03-02T09:06:30Z');
    const again = await run(config);

    expect([imported, changed, early, again].map((r) => r.filesImported)).toEqual([1, 0, 0, 1]);
    const staged = await loadStagedRecords(db, ['drop']);
    expect(staged.map((r) => r.values.first_name)).toEqual(['Lea-Marie']);
  });

  it('marks an unreadable file failed, imports the others, and retries it only once changed', async () => {
    const config = configWith(`pattern: '^contacts_\\d{8}\\.csv$'\nstableSeconds: 0`);
    await upload('contacts_20260301.csv', '');
    await upload('contacts_20260302.csv', 'email,city\nlea@example.org,Paris\n');
    nowMs = at('2026-03-04T00:00:00Z');

    const first = await run(config);

    expect(first.filesImported).toBe(1);
    expect((await fileRow('contacts_20260301.csv')).status).toBe('failed');
    const failure = {
      file_name: 'contacts_20260301.csv',
      reason: 'contacts_20260301.csv has no header line',
    };
    expect(await db('row_errors').select('file_name', 'reason')).toEqual([failure]);

    const second = await run(config);
    expect(second.filesImported).toBe(0);
    expect(await db('row_errors').select('file_name', 'reason')).toEqual([failure]);

    await upload('contacts_20260301.csv', 'email,city\nmax@example.org,Lyon\n');
    await setMtime('contacts_20260301.csv', '2026-03-03T00:00:00Z');
    const third = await run(config);
    expect(third.filesImported).toBe(1);
    expect((await fileRow('contacts_20260301.csv')).status).toBe('imported');
  });

  it('imports dated names in date order and keeps the date in the lineage', async () => {
    const config = configWith(
      `prefix: contacts_\ndatePattern: YYYYMMDD\nsuffix: .csv\nstableSeconds: 0`,
    );
    await upload('contacts_20260303.csv', 'email,city\nlea@example.org,Lyon\n');
    await upload('contacts_20260302.csv', 'email,city\nlea@example.org,Paris\n');
    await upload('contacts_20260230.csv', 'email,city\nlea@example.org,Nowhere\n');
    await upload('contacts_latest.csv', 'email,city\nlea@example.org,Nowhere\n');
    nowMs = at('2026-03-04T00:00:00Z');

    const result = await run(config);

    expect(result.filesImported).toBe(2);
    const staged = await db('source_records').where({ source: 'drop' }).select('payload', 'origin');
    expect(staged).toEqual([
      {
        payload: '{"email":"lea@example.org","city":"Lyon"}',
        origin: 'contacts_20260303.csv:2 (dated 2026-03-03)',
      },
    ]);
    expect((await fileRow('contacts_20260302.csv')).file_date).toBe('2026-03-02');
    expect(await fileRow('contacts_20260230.csv')).toBeUndefined();
  });

  it('imports the first files one time in once mode, ignoring later and changed files', async () => {
    const config = configWith(`pattern: '^contacts_\\d{8}\\.csv$'\nmode: once\nstableSeconds: 0`);
    await upload('contacts_20260301.csv', 'email,city\nlea@example.org,Paris\n');
    nowMs = at('2026-03-02T00:00:00Z');
    const first = await run(config);

    await upload(
      'contacts_20260301.csv',
      'email,city\nlea@example.org,Berlin\nnew@example.org,Rome\n',
    );
    await setMtime('contacts_20260301.csv', '2026-03-02T10:00:00Z');
    await upload('contacts_20260302.csv', 'email,city\nother@example.org,Oslo\n');
    nowMs = at('2026-03-03T00:00:00Z');
    const second = await run(config);

    expect(first.filesImported).toBe(1);
    expect(second).toEqual({ filesImported: 0, pagesRead: 0, recordsRead: 0, recordsRejected: 0 });
    const staged = await loadStagedRecords(db, ['drop']);
    expect(staged.map((r) => r.values)).toEqual([{ email: 'lea@example.org', city: 'Paris' }]);
  });

  it('moves an imported file to the archive, retrying a failed move without re-importing', async () => {
    const config = configWith(
      `pattern: '^contacts_\\d{8}\\.csv$'\nstableSeconds: 0\narchive: { directory: /blocked/done }`,
    );
    await fsp.writeFile(path.join(root, 'blocked'), 'a file where the archive folder should be');
    await upload('contacts_20260301.csv', 'email\nlea@example.org\n');
    nowMs = at('2026-03-02T00:00:00Z');
    const first = await run(config);
    const afterFailure = await fileRow('contacts_20260301.csv');

    const second = await run(config);
    await fsp.rm(path.join(root, 'blocked'));
    const third = await run(config);

    expect(first.filesImported).toBe(1);
    expect(afterFailure).toMatchObject({ status: 'imported', archived_to: null });
    expect(second.filesImported).toBe(0);
    expect(third.filesImported).toBe(0);
    expect(await fsp.readdir(path.join(root, 'drop'))).toEqual([]);
    expect(await fsp.readdir(path.join(root, 'blocked', 'done'))).toEqual([
      'contacts_20260301.csv',
    ]);
    expect(await fileRow('contacts_20260301.csv')).toMatchObject({
      status: 'imported',
      archived_to: '/blocked/done/contacts_20260301.csv',
    });
    expect(await db('source_records').count({ n: '*' })).toEqual([{ n: 1 }]);
  });

  it('resumes a JSON array after a crash at the record where it stopped', async () => {
    const config = configWith(
      `pattern: '^people_\\d{8}\\.json$'\nstableSeconds: 0\nformat: { type: json }`,
    );
    const people = Array.from({ length: 1200 }, (_, i) => ({
      email: i === 3 || i === 700 ? 'not-an-email' : `p${i}@example.org`,
      address: { city: `City ${i}`, zip: i },
      vip: i % 2 === 0,
    }));
    await upload(
      'people_20260301.json',
      `[\n${people.map((p) => JSON.stringify(p)).join(',\n')}\n]\n`,
    );
    nowMs = at('2026-03-02T00:00:00Z');

    const crash = () => {
      throw new Error('worker lost');
    };
    await expect(run(config, crash)).rejects.toThrow('worker lost');
    const halfway = await fileRow('people_20260301.json');
    const resumed = await run(config);

    expect(halfway).toMatchObject({ status: 'importing', lines_done: 500 });
    expect(resumed).toEqual({
      filesImported: 1,
      pagesRead: 0,
      recordsRead: 1200,
      recordsRejected: 2,
    });
    const staged = await loadStagedRecords(db, ['drop']);
    expect(staged).toHaveLength(1198);
    expect(staged[0]!.values).toEqual({
      email: 'p0@example.org',
      'address.city': 'City 0',
      'address.zip': '0',
      vip: 'true',
    });
    const errors = await db('row_errors').orderBy('line').select('line', 'field', 'reason');
    expect(errors).toEqual([
      { line: 5, field: 'email', reason: 'malformed email' },
      { line: 702, field: 'email', reason: 'malformed email' },
    ]);
    const origins = await db('source_records').orderBy('id').limit(2).pluck('origin');
    expect(origins).toEqual(['people_20260301.json[1]', 'people_20260301.json[2]']);
  });

  it('reads NDJSON, naming the line of a record that is not an object', async () => {
    const config = configWith(
      `pattern: '^events\\.ndjson$'\nstableSeconds: 0\nformat: { type: ndjson }`,
    );
    const lines = [
      '{"email":"a@example.org","n":1}',
      '',
      '{"email":',
      '[1,2]',
      '{"email":"b@example.org"}',
    ];
    await upload('events.ndjson', `${lines.join('\n')}\n`);
    nowMs = at('2026-03-02T00:00:00Z');

    const result = await run(config);

    expect(result).toEqual({ filesImported: 1, pagesRead: 0, recordsRead: 4, recordsRejected: 2 });
    const errors = await db('row_errors').orderBy('line').select('line', 'reason');
    expect(errors).toEqual([
      { line: 3, reason: expect.stringMatching(/^invalid JSON/) },
      { line: 4, reason: 'expected an object, found an array' },
    ]);
    expect(await db('source_records').orderBy('id').pluck('origin')).toEqual([
      'events.ndjson:1',
      'events.ndjson:5',
    ]);
  });

  it('converts de-DE decimal commas when the locale is declared, else keeps text and flags (BL-08)', async () => {
    const csv =
      'email;total_spent;orders\njonas.weber@example.de;1.234,50;3\nmia.keller@example.de;89,90;1\n';
    const fields = '{ email: email, total_spent: number, orders: number }';
    await upload('orders_20260301.csv', csv);
    nowMs = at('2026-03-02T00:00:00Z');

    const withLocale = configWith(
      `pattern: '^orders_\\d{8}\\.csv$'\nstableSeconds: 0\nformat: { type: csv, numberLocale: de-DE }`,
      fields,
    );
    await run(withLocale);
    const converted = (await loadStagedRecords(db, ['drop'])).map((r) => r.values);
    await db('source_files').delete();
    await db('source_records').delete();
    const noLocale = configWith(`pattern: '^orders_\\d{8}\\.csv$'\nstableSeconds: 0`, fields);
    const plain = await run(noLocale);
    const kept = (await loadStagedRecords(db, ['drop'])).map((r) => r.values);

    expect(converted).toEqual([
      { email: 'jonas.weber@example.de', total_spent: '1234.5', orders: '3' },
      { email: 'mia.keller@example.de', total_spent: '89.9', orders: '1' },
    ]);
    expect(plain).toEqual({ filesImported: 1, pagesRead: 0, recordsRead: 2, recordsRejected: 0 });
    expect(kept.map((v) => v.total_spent)).toEqual(['1.234,50', '89,90']);
    expect(JSON.parse((await fileRow('orders_20260301.csv')).type_review)).toEqual({
      total_spent: 2,
    });
  });
});
