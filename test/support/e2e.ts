import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import knexFactory, { type Knex } from 'knex';
import { parseConfig } from '../../config/load';
import type { BraidConfig } from '../../config/schema';
import { startBrazeEmulator, type BrazeEmulator } from '../../emulators/braze';
import { startSftpServer } from '../../emulators/sftp/server';
import type { RunReport } from '../../activities';
import { requestSyncRun, waitForRun } from '../../client/sync-control';
import { openDatabase, migrate } from '../../store/db';
import { createBraidWorker, type BraidWorker } from '../../worker/create-worker';

export const BACKENDS = ['sqlite', 'postgres'] as const;
export type Backend = (typeof BACKENDS)[number];

/** describe.each over the databases this machine has; PostgreSQL is required under CI. */
export function availableBackends(): Backend[] {
  if (process.env.BRAID_TEST_PG_URL) return [...BACKENDS];
  if (process.env.CI) throw new Error('BRAID_TEST_PG_URL is not set under CI');
  return ['sqlite'];
}

export const SAMPLE_FILE = path.resolve(__dirname, '../../examples/data/splink/fake_1000.csv');
export const BRAZE_KEY = 'test-braze-key';
/** The SFTP user of every e2e config; its password is in the env var E2E_SFTP_PASSWORD. */
export const SFTP_USER = 'braid';
const SFTP_PASSWORD = 'test-sftp-password';

let bundle: Promise<{ code: string }> | undefined;
/** The workflow bundle, built once per test file (bundling takes seconds). */
export function workflowBundle(): Promise<{ code: string }> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
  });
  return bundle;
}

export interface E2E {
  dir: string;
  dropDir: string;
  configFile: string;
  config: BraidConfig;
  braze: BrazeEmulator;
  db: Knex;
  /** Drops the public sample file as `customers_20260101.csv`, as the shop's upload would. */
  dropSample(): void;
  client: Client;
  /** Starts an in-process worker (or returns the running one). */
  startWorker(): Promise<BraidWorker>;
  stopWorker(): Promise<void>;
  /** Queues a run with the controller and waits for its report. */
  runSync(): Promise<RunReport>;
  requestRun(): Promise<string>;
  stop(): Promise<void>;
}

export interface E2EOptions {
  backend: Backend;
  requestVolume?: number;
  timeWindowSeconds?: number;
  batchSize?: number;
  responseDelayMs?: number;
  brazeRequestVolume?: number;
  /**
   * The config file's text from the installation's values (default: the eshop config). Use
   * `{ env: E2E_SFTP_PASSWORD }` and `{ env: E2E_BRAZE_KEY }` for the secrets.
   */
  configYaml?: (values: E2EConfigValues) => string;
  /** The sync that runSync runs (default: eshop-to-braze). */
  syncId?: string;
}

/** What a config template needs to point at this installation's servers. */
export interface E2EConfigValues {
  database: string;
  temporalAddress: string;
  taskQueue: string;
  sftpPort: number;
  brazeUrl: string;
  requestVolume: number;
  timeWindowSeconds: number;
  batchSize: number;
}

/**
 * A whole Braid installation on loopback for one test: SFTP server with a drop folder, Braze
 * emulator, customer database (SQLite file or a fresh PostgreSQL schema), the eshop config (or
 * the caller's) written to a file, a Temporal client, and an in-process worker on a task queue
 * of its own.
 */
export async function startE2E(opts: E2EOptions): Promise<E2E> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'braid-e2e-'));
  const dropDir = path.join(dir, 'sftp', 'drop');
  mkdirSync(dropDir, { recursive: true });
  const sftp = await startSftpServer({
    root: path.join(dir, 'sftp'),
    username: SFTP_USER,
    password: SFTP_PASSWORD,
  });
  const braze = await startBrazeEmulator({
    apiKeys: [BRAZE_KEY],
    responseDelayMs: opts.responseDelayMs ?? 0,
    requestVolume: opts.brazeRequestVolume ?? 3000,
    timeWindowMs: 3000,
  });
  process.env.E2E_SFTP_PASSWORD = SFTP_PASSWORD;
  process.env.E2E_BRAZE_KEY = BRAZE_KEY;

  let database: string;
  let dropSchema: (() => Promise<void>) | undefined;
  if (opts.backend === 'postgres') {
    const schema = `braid_e2e_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const admin = knexFactory({ client: 'pg', connection: process.env.BRAID_TEST_PG_URL });
    await admin.raw(`CREATE SCHEMA ${schema}`);
    await admin.destroy();
    database = `{ client: postgres, connection: '${process.env.BRAID_TEST_PG_URL}', schema: ${schema} }`;
    dropSchema = async () => {
      const cleanup = knexFactory({ client: 'pg', connection: process.env.BRAID_TEST_PG_URL });
      await cleanup.raw(`DROP SCHEMA ${schema} CASCADE`);
      await cleanup.destroy();
    };
  } else {
    database = `{ client: sqlite, filename: ${path.join(dir, 'braid.db')} }`;
  }

  const taskQueue = `braid-test-${randomUUID().slice(0, 8)}`;
  const syncId = opts.syncId ?? 'eshop-to-braze';
  const yaml = (opts.configYaml ?? e2eConfigYaml)({
    database,
    temporalAddress: process.env.BRAID_TEST_TEMPORAL_ADDRESS!,
    taskQueue,
    sftpPort: sftp.port,
    brazeUrl: braze.url,
    requestVolume: opts.requestVolume ?? 3000,
    timeWindowSeconds: opts.timeWindowSeconds ?? 3,
    batchSize: opts.batchSize ?? 75,
  });
  const configFile = path.join(dir, 'braid.yaml');
  writeFileSync(configFile, yaml);
  const config = parseConfig(yaml, configFile);
  const db = openDatabase(config.database);
  await migrate(db);

  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: 'default' });
  let worker: BraidWorker | undefined;
  let running: Promise<void> | undefined;

  const e2e: E2E = {
    dir,
    dropDir,
    configFile,
    config,
    braze,
    db,
    client,
    dropSample: () => copyFileSync(SAMPLE_FILE, path.join(dropDir, 'customers_20260101.csv')),
    async startWorker() {
      if (!worker) {
        worker = await createBraidWorker(config, { workflowBundle: await workflowBundle() });
        running = worker.run();
      }
      return worker;
    },
    async stopWorker() {
      if (worker) await worker.shutdown();
      await running;
      worker = undefined;
    },
    requestRun: () =>
      requestSyncRun(client, taskQueue, {
        syncId,
        trigger: 'test',
        requestId: randomUUID().slice(0, 8),
      }),
    async runSync() {
      await e2e.startWorker();
      return waitForRun(client, await e2e.requestRun());
    },
    async stop() {
      await client.workflow
        .getHandle(`braid-sync-${syncId}`)
        .terminate('test finished')
        .catch(() => undefined);
      await e2e.stopWorker();
      await connection.close();
      await db.destroy();
      await braze.stop();
      await sftp.stop();
      await dropSchema?.();
    },
  };
  return e2e;
}

function e2eConfigYaml(v: E2EConfigValues): string {
  return `
database: ${v.database}
temporal: { address: '${v.temporalAddress}', namespace: default, taskQueue: ${v.taskQueue} }
sources:
  eshop:
    type: sftp
    host: 127.0.0.1
    port: ${v.sftpPort}
    username: ${SFTP_USER}
    password: { env: E2E_SFTP_PASSWORD }
    directory: /drop
    pattern: '^customers_\\d{8}\\.csv$'
    recordKey: unique_id
    stableSeconds: 0
datasets:
  customers:
    sources: [eshop]
    fields: { email: email, dob: date }
    keys:
      - { name: email, columns: [email], normalize: email }
      - { name: name_dob, columns: [first_name, surname, dob], normalize: text }
    survivorship: most_recent_non_null
destinations:
  braze:
    type: braze
    endpoint: ${v.brazeUrl}
    apiKey: { env: E2E_BRAZE_KEY }
    timeWindowSeconds: ${v.timeWindowSeconds}
    requestVolume: ${v.requestVolume}
    batchSize: ${v.batchSize}
    attributes:
      - { name: email, type: string }
      - { name: first_name, type: string }
      - { name: last_name, type: string }
      - { name: dob, type: date }
      - { name: home_city, type: string }
syncs:
  eshop-to-braze:
    dataset: customers
    destination: braze
    mapping: { email: email, first_name: first_name, last_name: surname, dob: dob, home_city: city }
`;
}
