import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../config/load';
import { createBraidWorker } from '../worker/create-worker';
import { installLogger } from '../worker/logger';
import { DEMO_BRAZE_KEY, dropFile, startLocalStack } from './local-stack';
import { printReport } from './report';
import { requestSyncRun, waitForRun } from './sync-control';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
const SYNC_ID = 'eshop-to-braze';

/**
 * The quickstart: starts Temporal, the Braze emulator and an SFTP server on loopback, drops the
 * public fake_1000.csv as the "eshop" source, runs one sync through a real worker and prints
 * the run report and where to see the workflow in the Temporal UI.
 */
export async function runDemo(opts: { json: boolean; keepRunning: boolean }): Promise<number> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const stateDir = path.join(PROJECT_ROOT, '.braid', 'demo');
  const stack = await startLocalStack(stateDir, say);
  try {
    dropFile(stack, path.join(PROJECT_ROOT, 'examples/data/splink/fake_1000.csv'), 'customers_20260101.csv');
    Object.assign(process.env, {
      TEMPORAL_ADDRESS: stack.temporalAddress,
      BRAID_DB_FILE: path.join(stateDir, 'braid.db'),
      ESHOP_SFTP_HOST: stack.sftp.host,
      ESHOP_SFTP_PORT: String(stack.sftp.port),
      ESHOP_SFTP_USER: stack.sftp.username,
      ESHOP_SFTP_PASSWORD: stack.sftp.password,
      ESHOP_STABLE_SECONDS: '0',
      BRAZE_REST_ENDPOINT: stack.braze.url,
      BRAZE_API_KEY: DEMO_BRAZE_KEY,
    });
    const { config } = loadConfig(path.join(PROJECT_ROOT, 'examples/eshop/braid.yaml'));

    installLogger(createWriteStream(path.join(stateDir, 'worker.log'), { flags: 'a' }));
    const worker = await createBraidWorker(config);
    const running = worker.run();
    const connection = await Connection.connect({ address: config.temporal.address });
    try {
      const client = new Client({ connection, namespace: config.temporal.namespace });
      say(`Braze emulator on ${stack.braze.url}, SFTP drop on ${stack.sftp.host}:${stack.sftp.port}.`);
      say(`Running sync "${SYNC_ID}" on customers_20260101.csv (worker log: ${stateDir}/worker.log)...`);
      const workflowId = await requestSyncRun(client, config.temporal.taskQueue, {
        syncId: SYNC_ID,
        trigger: 'demo',
        requestId: randomUUID().slice(0, 8),
      });
      const report = await waitForRun(client, workflowId);
      printReport(report, { json: opts.json, uiUrl: stack.temporalUiUrl, namespace: config.temporal.namespace });
      if (opts.keepRunning) {
        say('Everything is still running. Press Ctrl-C to stop.');
        await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      }
      return report.status === 'succeeded' ? 0 : 1;
    } finally {
      await connection.close();
      await worker.shutdown();
      await running;
    }
  } finally {
    await stack.stop();
  }
}
