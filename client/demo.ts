import path from 'node:path';
import { loadConfig } from '../config/load';
import { DEMO_BRAZE_KEY, dropFile, startLocalStack } from './local-stack';
import { runDemoSync } from './demo-run';

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
    dropFile(
      stack,
      path.join(PROJECT_ROOT, 'examples/data/splink/fake_1000.csv'),
      'customers_20260101.csv',
    );
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

    return await runDemoSync({
      stack,
      config,
      syncId: SYNC_ID,
      stateDir,
      json: opts.json,
      keepRunning: opts.keepRunning,
      say,
      intro: [
        `Braze emulator on ${stack.braze.url}, SFTP drop on ${stack.sftp.host}:${stack.sftp.port}.`,
        'The drop holds customers_20260101.csv.',
      ],
    });
  } finally {
    await stack.stop();
  }
}
