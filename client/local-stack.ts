import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { startBrazeEmulator, type BrazeEmulator } from '../emulators/braze';
import { startSftpServer } from '../emulators/sftp/server';
import { freePort, canConnect } from '../local/ports';
import {
  isTemporalServing,
  startTemporalDevServer,
  type DevServer,
} from '../local/temporal-dev-server';

export interface LocalStack {
  temporalAddress: string;
  temporalUiUrl: string | undefined;
  braze: BrazeEmulator;
  sftp: { host: string; port: number; root: string; username: string; password: string };
  stop(): Promise<void>;
}

export const DEMO_BRAZE_KEY = 'demo-braze-rest-key';
export const DEMO_SFTP_USER = 'braid';
export const DEMO_SFTP_PASSWORD = 'demo-sftp-password';

/**
 * Starts everything the quickstart needs on loopback: a Temporal dev server that keeps its
 * workflows in `stateDir` (or reuses one already answering on 7233), the Braze emulator and an
 * SFTP server serving `stateDir/sftp`.
 */
export async function startLocalStack(
  stateDir: string,
  log: (line: string) => void,
): Promise<LocalStack> {
  mkdirSync(stateDir, { recursive: true });
  const stops: Array<() => Promise<void>> = [];

  let temporal: Pick<DevServer, 'address' | 'uiUrl'>;
  if (await isTemporalServing('127.0.0.1:7233')) {
    temporal = { address: '127.0.0.1:7233', uiUrl: 'http://localhost:8233' };
    log('Using the Temporal server already running on 127.0.0.1:7233.');
  } else {
    const port = (await canConnect('127.0.0.1', 7233)) ? await freePort() : 7233;
    const uiPort = (await canConnect('127.0.0.1', port + 1000)) ? await freePort() : port + 1000;
    log(`Starting a Temporal dev server on 127.0.0.1:${port} (state in ${stateDir}/temporal.db).`);
    const server = await startTemporalDevServer({
      port,
      uiPort,
      dbFile: path.join(stateDir, 'temporal.db'),
      logFile: path.join(stateDir, 'temporal.log'),
      log,
    });
    temporal = server;
    stops.push(() => server.stop());
  }

  const brazePort = (await canConnect('127.0.0.1', 4010)) ? 0 : 4010;
  const braze = await startBrazeEmulator({ apiKeys: [DEMO_BRAZE_KEY], port: brazePort });
  stops.push(() => braze.stop());

  const root = path.join(stateDir, 'sftp');
  mkdirSync(path.join(root, 'drop'), { recursive: true });
  const sftpServer = await startSftpServer({
    root,
    username: DEMO_SFTP_USER,
    password: DEMO_SFTP_PASSWORD,
    port: 0,
  });
  stops.push(() => sftpServer.stop());

  return {
    temporalAddress: temporal.address,
    temporalUiUrl: temporal.uiUrl,
    braze,
    sftp: {
      host: sftpServer.host,
      port: sftpServer.port,
      root,
      username: DEMO_SFTP_USER,
      password: DEMO_SFTP_PASSWORD,
    },
    stop: async () => {
      for (const stop of stops.reverse()) await stop();
    },
  };
}

/** Drops a file into the stack's SFTP folder, the way a partner's upload would arrive. */
export function dropFile(stack: LocalStack, from: string, name: string): void {
  copyFileSync(from, path.join(stack.sftp.root, 'drop', name));
}
