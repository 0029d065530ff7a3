import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Worker } from '@temporalio/worker';
import { controllerWorkflowId } from '../../workflows/definitions';
import { scheduleIdFor, scheduleSync, syncStatus } from '../../client/sync-control';
import { startE2E, workflowBundle, type E2E } from '../support/e2e';

const CLI = path.resolve(__dirname, '../../dist/client/cli.js');
const run = promisify(execFile);

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('triggers: manual run from the CLI, Temporal Schedule, status query', () => {
  let e2e: E2E;

  beforeAll(async () => {
    e2e = await startE2E({ backend: 'sqlite' });
    e2e.dropSample();
    await e2e.startWorker();
  });
  afterAll(async () => {
    await e2e.client.schedule
      .getHandle(scheduleIdFor('eshop-to-braze'))
      .delete()
      .catch(() => undefined);
    await e2e?.stop();
  });

  test('`braid run --json` prints the run report as its last line', async () => {
    const { stdout } = await run(process.execPath, [
      CLI,
      'run',
      'eshop-to-braze',
      '-c',
      e2e.configFile,
      '--json',
    ]);

    const report = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(report).toMatchObject({
      sync: 'eshop-to-braze',
      status: 'succeeded',
      recordsRead: 1000,
      recordsRejected: 23,
      goldenRecords: 347,
      requestsSent: 5,
      dataPointsWritten: report.attributesSent,
    });
    for (const field of ['attributesSent', 'durationMs', 'workflowId'])
      expect(report).toHaveProperty(field);
    expect(stdout).toContain('customers_20260101.csv:5 [email] malformed email');
  });

  test('a schedule queues runs with the controller, and status answers from its query', async () => {
    const { scheduleId, created } = await scheduleSync(
      e2e.client,
      e2e.config.temporal.taskQueue,
      'eshop-to-braze',
      '0 3 * * *',
    );
    expect(created).toBe(true);
    const described = await e2e.client.schedule.getHandle(scheduleId).describe();
    expect(described.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 3, end: 3, step: 1 }] });

    await e2e.client.schedule.getHandle(scheduleId).trigger();
    const scheduledRun = await waitFor(async () => {
      const { controller } = await syncStatus(e2e.client, 'eshop-to-braze');
      return controller?.recent.find((r) => r.trigger === 'schedule' && r.status !== 'running');
    }, 60_000);

    expect(scheduledRun).toMatchObject({ status: 'succeeded', requestsSent: 0, recordsRead: 0 });
    const { stdout } = await run(process.execPath, [
      CLI,
      'status',
      'eshop-to-braze',
      '-c',
      e2e.configFile,
      '--json',
    ]);
    const status = JSON.parse(stdout);
    expect(status.controller.recent.map((r: { trigger: string }) => r.trigger)).toEqual([
      'schedule',
      'manual',
    ]);
    expect(status.controller.running).toBeNull();

    const again = await scheduleSync(
      e2e.client,
      e2e.config.temporal.taskQueue,
      'eshop-to-braze',
      '0 4 * * *',
    );
    expect(again.created).toBe(false);
  });

  test('the recorded histories replay deterministically', async () => {
    const { controller } = await syncStatus(e2e.client, 'eshop-to-braze');
    const ids = [
      controllerWorkflowId('eshop-to-braze'),
      ...controller!.recent.map((r) => r.workflowId),
    ];
    const histories = await Promise.all(
      ids.map((id) => e2e.client.workflow.getHandle(id).fetchHistory()),
    );

    for (const [i, history] of histories.entries()) {
      await expect(
        Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, ids[i]),
      ).resolves.toBeUndefined();
    }
    expect(histories.length).toBeGreaterThanOrEqual(3);
  });
});
