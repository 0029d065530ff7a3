import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// The compiled CLI, as `npm test` builds it before running the tests.
const CLI = path.resolve(__dirname, '../../dist/client/cli.js');
const CDNOW = path.resolve(__dirname, '../../examples/data/cdnow/CDNOW_master.txt');

describe('the braid command line, as a process', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'braid-cli-pipe-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ends quietly with status 0, as `braid score rfm … | head -1` does', async () => {
    const args = [
      CLI,
      'score',
      'rfm',
      '--orders',
      CDNOW,
      '--as-of',
      '1998-07-01',
      '--out',
      path.join(dir, 'rfm.csv'),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    // Read the first chunk, then close the reading end, as `head -1` does.
    const first = await new Promise<string>((resolve) =>
      child.stdout.once('data', (chunk) => resolve(String(chunk))),
    );
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    expect(first).toMatch(/^Scored 23570 customers as of 1998-07-01/);
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('stops a server command on SIGTERM as on Ctrl-C: it closes what it started and exits 0', async () => {
    const args = [CLI, 'emulator', '--port', '0', '--api-key', 'cli-test-key'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const said = await new Promise<string>((resolve) =>
      child.stdout.once('data', (chunk) => resolve(String(chunk))),
    );
    const url = /listening on (http:\/\/\S+)\./.exec(said)![1]!;
    expect((await fetch(`${url}/_emulator/stats`)).status).toBe(200);

    child.kill('SIGTERM');
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.on('close', (c, s) => resolve([c, s])),
    );

    // Killed outright, the process would end by the signal (code null) without stopping.
    expect([code, signal]).toEqual([0, null]);
    await expect(fetch(`${url}/_emulator/stats`)).rejects.toThrow();
  });
});
