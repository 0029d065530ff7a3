import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ensureTemporalCli } from './temporal-cli';
import { freePort, waitForPort } from './ports';

export interface DevServerOptions {
  /** gRPC port; 0 picks a free one. */
  port?: number;
  /** Web UI port; omit to run headless. */
  uiPort?: number;
  /** SQLite file that keeps workflows across restarts; omit for an in-memory server. */
  dbFile?: string;
  /** Where the server's own output goes; omit to discard it. */
  logFile?: string;
  log?: (line: string) => void;
}

export interface DevServer {
  address: string;
  uiUrl: string | undefined;
  pid: number | undefined;
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 60_000;

/** Starts a real Temporal dev server (`temporal server start-dev`) and waits until it answers. */
export async function startTemporalDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const cli = ensureTemporalCli(opts.log);
  const host = '127.0.0.1';
  const port = opts.port || (await freePort());
  const args = ['server', 'start-dev', '--ip', host, '--port', String(port), '--log-level', 'warn'];
  if (opts.uiPort) args.push('--ui-port', String(opts.uiPort));
  else args.push('--headless');
  if (opts.dbFile) {
    mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }

  const out = opts.logFile ? openSync(opts.logFile, 'a') : 'ignore';
  const child = spawn(cli, args, { stdio: ['ignore', out, out] });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );

  const address = `${host}:${port}`;
  const ready = await Promise.race([waitUntilServing(address), exited.then(() => false)]);
  if (!ready) {
    child.kill('SIGKILL');
    const where = opts.logFile ? ` See ${opts.logFile}.` : '';
    throw new Error(`The Temporal dev server did not start on ${address}.${where}`);
  }
  return {
    address,
    uiUrl: opts.uiPort ? `http://localhost:${opts.uiPort}` : undefined,
    pid: child.pid,
    stop: () => stopChild(child, exited),
  };
}

async function waitUntilServing(address: string): Promise<boolean> {
  const [host, port] = address.split(':');
  if (!(await waitForPort(host!, Number(port), STARTUP_TIMEOUT_MS))) return false;
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await isTemporalServing(address)) return true;
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** True when a Temporal frontend already answers at address. */
export async function isTemporalServing(address: string): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 1500 });
    try {
      await connection.workflowService.getSystemInfo({});
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}
