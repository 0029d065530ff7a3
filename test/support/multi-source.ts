import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { parse } from 'csv-parse/sync';
import type { Knex } from 'knex';
import type { RunReport } from '../../activities';
import {
  DROP_FILE,
  MULTI_SOURCE_CONFIG,
  MULTI_SOURCE_SEED_DIR,
  MULTI_SOURCE_SYNC,
  readZendeskUsers,
  startSourceStack,
  type SourceStack,
} from '../../client/demo-multi';
import { requestSyncRun, waitForRun } from '../../client/sync-control';
import { loadConfig } from '../../config/load';
import type { BraidConfig } from '../../config/schema';
import { startBrazeEmulator, type BrazeEmulator } from '../../emulators/braze';
import { startSftpServer } from '../../emulators/sftp/server';
import { migrate, openDatabase } from '../../store/db';
import { createBraidWorker, type BraidWorker } from '../../worker/create-worker';
import { workflowBundle } from './e2e';

const BRAZE_KEY = 'test-braze-key';
const SFTP_USER = 'braid';
const SFTP_PASSWORD = 'test-sftp-password';

/** The multi-source example running on loopback, with handles on every server. */
export interface MultiSourceE2E {
  dir: string;
  config: BraidConfig;
  sources: SourceStack;
  braze: BrazeEmulator;
  db: Knex;
  runSync(): Promise<RunReport>;
  stop(): Promise<void>;
}

/**
 * Starts examples/multi-source/braid.yaml as it is, against loopback servers: the seeded
 * Salesforce and Zendesk emulators, the CRM SQLite file and the SFTP drop (via the demo's own
 * `startSourceStack`), the Braze emulator, a SQLite customer database, and an in-process worker
 * on a task queue of its own on the test Temporal server.
 */
export async function startMultiSourceE2E(
  opts: { salesforcePageSize?: number } = {},
): Promise<MultiSourceE2E> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'braid-multi-'));
  const sftpRoot = path.join(dir, 'sftp');
  mkdirSync(sftpRoot, { recursive: true });
  const sftp = await startSftpServer({
    root: sftpRoot,
    username: SFTP_USER,
    password: SFTP_PASSWORD,
  });
  const braze = await startBrazeEmulator({ apiKeys: [BRAZE_KEY], timeWindowMs: 3000 });
  const sources = await startSourceStack({
    crmFile: path.join(dir, 'crm.db'),
    dropDir: path.join(sftpRoot, 'drop'),
    salesforcePageSize: opts.salesforcePageSize,
  });

  const taskQueue = `braid-test-${randomUUID().slice(0, 8)}`;
  Object.assign(process.env, sources.env, {
    TEMPORAL_ADDRESS: process.env.BRAID_TEST_TEMPORAL_ADDRESS,
    BRAID_TASK_QUEUE: taskQueue,
    BRAID_DB_FILE: path.join(dir, 'braid.db'),
    ESHOP_SFTP_HOST: '127.0.0.1',
    ESHOP_SFTP_PORT: String(sftp.port),
    ESHOP_SFTP_USER: SFTP_USER,
    ESHOP_SFTP_PASSWORD: SFTP_PASSWORD,
    // The drop is complete before the first run: no need to wait for it to settle.
    ESHOP_STABLE_SECONDS: '0',
    BRAZE_REST_ENDPOINT: braze.url,
    BRAZE_API_KEY: BRAZE_KEY,
  });
  const { config } = loadConfig(MULTI_SOURCE_CONFIG);
  const db = openDatabase(config.database);
  await migrate(db);

  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: 'default' });
  let worker: BraidWorker | undefined;
  let running: Promise<void> | undefined;

  return {
    dir,
    config,
    sources,
    braze,
    db,
    async runSync() {
      if (!worker) {
        worker = await createBraidWorker(config, { workflowBundle: await workflowBundle() });
        running = worker.run();
      }
      const requestId = randomUUID().slice(0, 8);
      const request = { syncId: MULTI_SOURCE_SYNC, trigger: 'test', requestId };
      const workflowId = await requestSyncRun(client, taskQueue, request);
      return waitForRun(client, workflowId);
    },
    async stop() {
      await client.workflow
        .getHandle(`braid-sync-${MULTI_SOURCE_SYNC}`)
        .terminate('test finished')
        .catch(() => undefined);
      if (worker) await worker.shutdown();
      await running;
      await connection.close();
      await db.destroy();
      await braze.stop();
      await sftp.stop();
      await sources.stop();
    },
  };
}

/** One seed record, as the test reads it straight from the seed files. */
export interface SeedRecord {
  /** `source:key`, as in golden records' source keys; Salesforce rows are `salesforce#<row>`. */
  ref: string;
  email: string;
  phone: string;
}

/** Every record of the four seed files, read without any of Braid's code. */
export function readSeedRecords(): SeedRecord[] {
  const csv = (name: string): Array<Record<string, string>> =>
    parse(readFileSync(path.join(MULTI_SOURCE_SEED_DIR, name)), { columns: true });
  return [
    ...csv('salesforce-contacts.csv').map((r, i) => ({
      ref: `salesforce#${i}`,
      email: r.Email!,
      phone: r.Phone!,
    })),
    ...readZendeskUsers().map((u) => ({
      ref: `zendesk:${u.id}`,
      email: String(u.email ?? ''),
      phone: String(u.phone ?? ''),
    })),
    ...csv('crm-customers.csv').map((r) => ({
      ref: `crm:${r.id}`,
      email: r.email!,
      phone: r.phone!,
    })),
    ...csv(DROP_FILE).map((r) => ({
      ref: `eshop:${r.customer_id}`,
      email: r.email!,
      phone: r.phone!,
    })),
  ];
}

/**
 * The people the seed describes, computed independently of the identity engine: records are
 * linked when their lower-cased emails or their UK phone numbers (national digits, whatever the
 * writing: +44 20..., 020..., (020) ...-...) are equal, transitively, by breadth-first search.
 */
export function expectedClusters(records: SeedRecord[]): string[][] {
  const byValue = new Map<string, number[]>();
  records.forEach((record, i) => {
    for (const value of matchValues(record)) byValue.set(value, [...(byValue.get(value) ?? []), i]);
  });
  const seen = new Set<number>();
  const clusters: string[][] = [];
  for (let start = 0; start < records.length; start++) {
    if (seen.has(start)) continue;
    const queue = [start];
    seen.add(start);
    const members: string[] = [];
    while (queue.length > 0) {
      const i = queue.shift()!;
      members.push(records[i]!.ref);
      for (const value of matchValues(records[i]!)) {
        for (const j of byValue.get(value)!) {
          if (!seen.has(j)) {
            seen.add(j);
            queue.push(j);
          }
        }
      }
    }
    clusters.push(members.sort());
  }
  return clusters;
}

function matchValues(record: SeedRecord): string[] {
  const out: string[] = [];
  const email = record.email.trim().toLowerCase();
  if (email) out.push(`email:${email}`);
  const digits = record.phone.replace(/\D/g, '').replace(/^44/, '').replace(/^0/, '');
  if (digits) out.push(`phone:${digits}`);
  return out;
}
