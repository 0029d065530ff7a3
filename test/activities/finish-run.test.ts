import type { Knex } from 'knex';
import YAML from 'yaml';

import { finishRun } from '../../activities/run';
import { parseConfig } from '../../config/load';
import { migrate } from '../../store/db';
import { extractProgress, openRun, setCounts } from '../../store/runs';
import { saveSourceFile } from '../../store/staging';
import { advanceWatermark } from '../../store/watermarks';
import { inActivity } from '../support/activity-context';
import { BACKENDS } from '../support/databases';

const T0 = Date.UTC(2026, 0, 1);

function config() {
  const sftp = { type: 'sftp', host: '127.0.0.1', username: 'b', password: { env: 'P' } };
  const doc = {
    database: { client: 'sqlite', filename: 'unused.db' },
    sources: { drop: { ...sftp, pattern: '^c.*$', recordKey: 'id' } },
    datasets: { customers: { sources: ['drop'], keys: [{ name: 'email', columns: ['email'] }] } },
    destinations: {
      braze: { type: 'braze', endpoint: 'http://127.0.0.1:9', apiKey: { env: 'K' } },
    },
    syncs: { s: { dataset: 'customers', destination: 'braze', mapping: { email: 'email' } } },
  };
  return parseConfig(YAML.stringify(doc), 'finish-run.yaml');
}

/**
 * What a run staged before it failed: a file imported, another half imported, and two pages of
 * a pull source, in run r1; a file and a page of an earlier run r0 that must not count.
 */
async function stageProgress(db: Knex): Promise<void> {
  type Status = 'imported' | 'importing';
  const save = (
    fileName: string,
    status: Status,
    rowsStaged: number,
    rowsRejected: number,
    runId: string,
  ) => {
    const state = {
      fileName,
      sizeBytes: 1,
      modifiedAtMs: T0,
      status,
      linesDone: 0,
      rowsStaged,
      rowsRejected,
    };
    return saveSourceFile(db, 'drop', state, runId, T0);
  };
  await save('c0.csv', 'imported', 7, 0, 'r0');
  await save('c1.csv', 'imported', 10, 2, 'r1');
  await save('c2.csv', 'importing', 5, 0, 'r1');
  await db.transaction(async (trx) => {
    await advanceWatermark(trx, 'old', { cursor: 'a', runId: 'r0', records: 40, rejected: 0 }, T0);
    await advanceWatermark(trx, 'crm', { cursor: 'a', runId: 'r1', records: 100, rejected: 1 }, T0);
    await advanceWatermark(trx, 'crm', { cursor: 'b', runId: 'r1', records: 50, rejected: 0 }, T0);
  });
}

describe.each(BACKENDS)('a failed run reports what it staged, on $name', (backend) => {
  let db: Knex;
  let close: () => Promise<void>;

  beforeEach(async () => {
    ({ db, close } = await backend.open());
    await migrate(db);
    await stageProgress(db);
  });

  afterEach(async () => {
    await close();
  });

  const finish = (status: 'succeeded' | 'failed') =>
    inActivity(() =>
      finishRun(
        { config: config(), db, now: () => T0 },
        {
          runId: 'r1',
          syncId: 's',
          workflowId: 'wf-r1',
          trigger: 'manual',
          status,
          ...(status === 'failed' ? { error: 'zendesk answered 503' } : {}),
          startedAtMs: T0,
          finishedAtMs: T0 + 1000,
          rateLimitedWaits: 0,
        },
      ),
    );

  test('sums the files and pages of the run, partial ones included', async () => {
    expect(await extractProgress(db, 'r1')).toEqual({
      filesImported: 1,
      pagesRead: 2,
      recordsRead: 12 + 5 + 150,
      recordsRejected: 2 + 1,
    });
  });

  test('a run that failed before its counts were summed reads them back', async () => {
    await openRun(db, { runId: 'r1', syncId: 's', trigger: 'manual', startedAtMs: T0 });

    const report = await finish('failed');

    expect(report).toMatchObject({
      status: 'failed',
      filesImported: 1,
      pagesRead: 2,
      recordsRead: 167,
      recordsRejected: 3,
      error: 'zendesk answered 503',
    });
  });

  test('counts that were summed are reported as they are', async () => {
    await openRun(db, { runId: 'r1', syncId: 's', trigger: 'manual', startedAtMs: T0 });
    const summed = { filesImported: 1, pagesRead: 2, recordsRead: 162, recordsRejected: 3 };
    await setCounts(db, 'r1', summed);

    expect(await finish('failed')).toMatchObject(summed);
    expect(await finish('succeeded')).toMatchObject(summed);
  });
});
