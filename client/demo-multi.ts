import { randomUUID } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../config/load';
import { createBraidWorker } from '../worker/create-worker';
import { installLogger } from '../worker/logger';
import { DEMO_BRAZE_KEY, startLocalStack } from './local-stack';
import { printReport } from './report';
import {
  MULTI_SOURCE_CONFIG,
  MULTI_SOURCE_NAMES,
  MULTI_SOURCE_SYNC,
  PROJECT_ROOT,
  stagedPerSource,
  startSourceStack,
  type SourceStack,
} from './source-stack';
import { requestSyncRun, waitForRun } from './sync-control';

export * from './source-stack';

/**
 * The multi-source quickstart: Temporal, the Braze emulator and an SFTP server as in the plain
 * demo, plus the seeded Salesforce and Zendesk emulators and the CRM database, then one run of
 * `profiles-to-braze` from examples/multi-source/braid.yaml. The emulators keep their data in
 * memory, so each demo starts from a fresh customer database.
 */
export async function runMultiSourceDemo(opts: {
  json: boolean;
  keepRunning: boolean;
}): Promise<number> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const stateDir = path.join(PROJECT_ROOT, '.braid', 'demo-multi');
  const stack = await startLocalStack(stateDir, say);
  const dbFile = path.join(stateDir, 'braid.db');
  let sources: SourceStack | undefined;
  try {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbFile}${suffix}`, { force: true });
    sources = await startSourceStack({
      crmFile: path.join(stateDir, 'crm.db'),
      dropDir: path.join(stack.sftp.root, 'drop'),
    });
    Object.assign(process.env, sources.env, {
      TEMPORAL_ADDRESS: stack.temporalAddress,
      // A task queue of its own, so a worker of the plain demo never picks these runs up.
      BRAID_TASK_QUEUE: 'braid-demo-multi',
      BRAID_DB_FILE: dbFile,
      ESHOP_SFTP_HOST: stack.sftp.host,
      ESHOP_SFTP_PORT: String(stack.sftp.port),
      ESHOP_SFTP_USER: stack.sftp.username,
      ESHOP_STABLE_SECONDS: '0',
      ESHOP_SFTP_PASSWORD: stack.sftp.password,
      BRAZE_REST_ENDPOINT: stack.braze.url,
      BRAZE_API_KEY: DEMO_BRAZE_KEY,
    });
    const { config } = loadConfig(MULTI_SOURCE_CONFIG);

    installLogger(createWriteStream(path.join(stateDir, 'worker.log'), { flags: 'a' }));
    const worker = await createBraidWorker(config);
    const running = worker.run();
    const connection = await Connection.connect({ address: config.temporal.address });
    try {
      const client = new Client({ connection, namespace: config.temporal.namespace });
      say(`Salesforce emulator on ${sources.salesforce.url}.`);
      say(`Zendesk emulator on ${sources.zendesk.url}.`);
      say(`CRM database ${sources.crmFile}, SFTP drop on ${stack.sftp.host}:${stack.sftp.port}.`);
      say(`Braze emulator on ${stack.braze.url}.`);
      say(`Running sync "${MULTI_SOURCE_SYNC}" (worker log: ${stateDir}/worker.log)...`);
      const workflowId = await requestSyncRun(client, config.temporal.taskQueue, {
        syncId: MULTI_SOURCE_SYNC,
        trigger: 'demo',
        requestId: randomUUID().slice(0, 8),
      });
      const report = await waitForRun(client, workflowId);
      const staged = await stagedPerSource(config);
      if (!opts.json) {
        const counts = MULTI_SOURCE_NAMES.map((s) => `${s} ${staged[s] ?? 0}`);
        say(`Records per source: ${counts.join(', ')}`);
      }
      const { namespace } = config.temporal;
      printReport(report, { json: opts.json, uiUrl: stack.temporalUiUrl, namespace });
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
    await sources?.stop();
    await stack.stop();
  }
}
