import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { BraidConfig } from '../config/schema';
import { createBraidWorker } from '../worker/create-worker';
import { installLogger } from '../worker/logger';
import type { LocalStack } from './local-stack';
import { printReport } from './report';
import { requestSyncRun, waitForRun } from './sync-control';
import { untilStopped } from '../local/until-stopped';

export interface DemoSync {
  stack: LocalStack;
  config: BraidConfig;
  syncId: string;
  stateDir: string;
  json: boolean;
  keepRunning: boolean;
  say: (line: string) => void;
  /** Lines printed before the run starts (where each local server listens). */
  intro: string[];
  /** Printed between the run and its report, unless --json. */
  beforeReport?: () => Promise<void>;
}

/**
 * What both demos do once their servers run: start a real worker, run the sync once, print the
 * report and the Temporal UI link, and stay up until Ctrl-C when asked. Returns the exit status.
 */
export async function runDemoSync(demo: DemoSync): Promise<number> {
  const { config, say } = demo;
  const logFile = path.join(demo.stateDir, 'worker.log');
  installLogger(createWriteStream(logFile, { flags: 'a' }));
  const worker = await createBraidWorker(config);
  const running = worker.run();
  const connection = await Connection.connect({ address: config.temporal.address });
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    for (const line of demo.intro) say(line);
    say(`Running sync "${demo.syncId}" (worker log: ${logFile})...`);
    const workflowId = await requestSyncRun(client, config.temporal.taskQueue, {
      syncId: demo.syncId,
      trigger: 'demo',
      requestId: randomUUID().slice(0, 8),
    });
    const report = await waitForRun(client, workflowId);
    if (!demo.json) await demo.beforeReport?.();
    const { namespace } = config.temporal;
    printReport(report, { json: demo.json, uiUrl: demo.stack.temporalUiUrl, namespace });
    if (demo.keepRunning) {
      say('Everything is still running. Press Ctrl-C to stop.');
      await untilStopped();
    }
    return report.status === 'succeeded' ? 0 : 1;
  } finally {
    await connection.close();
    await worker.shutdown();
    await running;
  }
}
