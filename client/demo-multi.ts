import { rmSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config/load';
import { DEMO_BRAZE_KEY, startLocalStack } from './local-stack';
import { runDemoSync } from './demo-run';
import {
  MULTI_SOURCE_CONFIG,
  MULTI_SOURCE_NAMES,
  MULTI_SOURCE_SYNC,
  PROJECT_ROOT,
  stagedPerSource,
  startSourceStack,
  type SourceStack,
} from './source-stack';

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

    const started = sources;
    return await runDemoSync({
      stack,
      config,
      syncId: MULTI_SOURCE_SYNC,
      stateDir,
      json: opts.json,
      keepRunning: opts.keepRunning,
      say,
      intro: [
        `Salesforce emulator on ${started.salesforce.url}.`,
        `Zendesk emulator on ${started.zendesk.url}.`,
        `CRM database ${started.crmFile}, SFTP drop on ${stack.sftp.host}:${stack.sftp.port}.`,
        `Braze emulator on ${stack.braze.url}.`,
      ],
      beforeReport: async () => {
        const staged = await stagedPerSource(config);
        const counts = MULTI_SOURCE_NAMES.map((s) => `${s} ${staged[s] ?? 0}`);
        say(`Records per source: ${counts.join(', ')}`);
      },
    });
  } finally {
    await sources?.stop();
    await stack.stop();
  }
}
