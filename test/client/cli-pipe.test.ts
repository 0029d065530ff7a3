import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// The compiled CLI, as `npm test` builds it before running the tests.
const CLI = path.resolve(__dirname, '../../dist/client/cli.js');
const CDNOW = path.resolve(__dirname, '../../examples/data/cdnow/CDNOW_master.txt');

describe('braid output into a pipe closed early', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'braid-cli-pipe-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ends quietly with status 0, as `braid score rfm … | head -1` does', async () => {
    const args = [CLI, 'score', 'rfm', '--orders', CDNOW, '--as-of', '1998-07-01', '--out', path.join(dir, 'rfm.csv')];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    // Read the first chunk, then close the reading end, as `head -1` does.
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (chunk) => resolve(String(chunk))));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    expect(first).toMatch(/^Scored 23570 customers as of 1998-07-01/);
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
