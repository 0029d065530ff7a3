import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../local/ports';

/** A throwaway PostgreSQL cluster for the test run, on loopback with trust auth. */
export interface TestPostgres {
  url: string;
  stop(): void;
}

function findBin(name: string): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? '').split(':'),
    ...['17', '16', '15', '14', '13'].map((v) => `/usr/lib/postgresql/${v}/bin`),
  ];
  for (const dir of dirs) {
    if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/** Runs a PostgreSQL binary; PostgreSQL refuses to run as root, so root runs it as `postgres`. */
function runAsPg(bin: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const cmd = asRoot ? 'runuser' : bin;
  const full = asRoot ? ['-u', 'postgres', '--', bin, ...args] : args;
  const result = spawnSync(cmd, full, { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${path.basename(bin)} failed: ${result.stderr || result.stdout}`);
  }
}

/** Starts a cluster when PostgreSQL's binaries are installed; returns undefined otherwise. */
export async function startTestPostgres(): Promise<TestPostgres | undefined> {
  const initdb = findBin('initdb');
  const pgCtl = findBin('pg_ctl');
  if (!initdb || !pgCtl) return undefined;

  const dir = mkdtempSync(path.join(os.tmpdir(), 'braid-pg-'));
  if (process.getuid?.() === 0) {
    const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownSync(dir, Number(ids.stdout.trim()), Number(gid.stdout.trim()));
  }
  const data = path.join(dir, 'data');
  const port = await freePort();
  runAsPg(initdb, ['-D', data, '--auth=trust', '-U', 'postgres', '--encoding=UTF8', '--no-sync']);
  const serverOpts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  runAsPg(pgCtl, ['-D', data, '-o', serverOpts, '-l', path.join(dir, 'log'), '-w', 'start']);

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => {
      try {
        runAsPg(pgCtl, ['-D', data, '-m', 'immediate', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
