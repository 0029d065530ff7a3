import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { loadGoldenRecords } from '../../store/identity';
import { waitForRun } from '../../client/sync-control';
import { startE2E, type E2E } from '../support/e2e';

const CLI = path.resolve(__dirname, '../../dist/client/cli.js');

/** Runs `braid worker` as its own process, as an operator would. */
function startWorkerProcess(e2e: E2E): ChildProcess {
  return spawn(process.execPath, [CLI, 'worker', '--config', e2e.configFile], {
    env: { ...process.env, BRAID_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a worker killed in the middle of delivery', () => {
  let e2e: E2E;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    // 25 profiles a request and a slow Braze make delivery last long enough to kill it midway.
    e2e = await startE2E({ backend: 'sqlite', batchSize: 25, responseDelayMs: 300 });
    e2e.dropSample();
  });
  afterAll(async () => {
    for (const worker of workers) worker.kill('SIGKILL');
    await e2e?.stop();
  });

  test('resumes on a new worker and re-sends at most the batch in flight', async () => {
    const first = startWorkerProcess(e2e);
    workers.push(first);
    const workflowId = await e2e.requestRun();
    await waitFor(() => e2e.braze.stats().requests >= 4, 60_000);
    first.kill('SIGKILL');
    const sentBeforeCrash = e2e.braze.stats().requests;
    expect(sentBeforeCrash).toBeLessThan(14);

    workers.push(startWorkerProcess(e2e));
    const report = await waitForRun(e2e.client, workflowId);

    expect(report.status).toBe('succeeded');
    expect(report.goldenRecords).toBe(347);
    expect(report.recordsDelivered).toBe(347);
    const log = e2e.braze.requestLog();
    // 347 profiles in batches of 25 make 14 requests; the crash may repeat one of them.
    expect(log.length).toBeGreaterThanOrEqual(14);
    expect(log.length).toBeLessThanOrEqual(15);
    const ids = log.flatMap((entry) => entry.externalIds);
    const resent = ids.length - new Set(ids).size;
    expect(resent).toBeLessThanOrEqual(25);
    expect(new Set(ids).size).toBe(347);

    const golden = await loadGoldenRecords(e2e.db, 'customers');
    for (const record of golden) {
      const profile = e2e.braze.profile(record.masterId);
      expect(profile?.first_name).toBe(record.attributes.first_name || undefined);
      expect(profile?.home_city).toBe(record.attributes.city || undefined);
      expect(profile?.email).toBe(record.attributes.email || undefined);
    }
  });
});
