import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { utils } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';

import { startSftpServer } from '../../emulators/sftp/server';
import type { RunningSftpServer } from '../../emulators/sftp/server';

const USER = 'drop';
const PASSWORD = 'emulator-secret';
const QUIET = { error: () => undefined, end: () => undefined, close: () => undefined };

describe('startSftpServer', () => {
  let base: string;
  let root: string;
  let server: RunningSftpServer;
  let client: SftpClient;

  beforeAll(async () => {
    base = await fsp.mkdtemp(path.join(os.tmpdir(), 'braid-sftp-server-'));
    root = path.join(base, 'root');
    await fsp.mkdir(path.join(root, 'drops'), { recursive: true });
    await fsp.writeFile(path.join(root, 'drops', 'a.csv'), 'email\nx@example.org\n');
    await fsp.writeFile(path.join(base, 'secret.txt'), 'outside');
    await fsp.symlink(path.join(base, 'secret.txt'), path.join(root, 'escape-link'));
    server = await startSftpServer({ root, username: USER, password: PASSWORD, port: 0 });
    client = new SftpClient('test', QUIET);
    const { host, port } = server;
    await client.connect({ host, port, username: USER, password: PASSWORD });
  });

  afterAll(async () => {
    await client.end();
    await server.stop();
    await fsp.rm(base, { recursive: true, force: true });
  });

  it('listens on a random loopback port', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
  });

  it('lists a directory with type, size, modification time and rights', async () => {
    const mtime = new Date('2026-03-02T08:59:58Z');
    await fsp.utimes(path.join(root, 'drops', 'a.csv'), mtime, mtime);

    const entries = await client.list('/drops');

    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ type: '-', name: 'a.csv', size: 20 });
    expect(entries[0]?.modifyTime).toBe(mtime.getTime());
    expect(entries[0]?.rights.user).toContain('r');
    expect((await client.list('/')).map((e) => `${e.type}${e.name}`).sort()).toEqual([
      'ddrops',
      'lescape-link',
    ]);
  });

  it('writes a file and reads it back byte for byte', async () => {
    const data = randomBytes(300 * 1024);

    await client.put(data, '/drops/blob.bin');
    const back = (await client.get('/drops/blob.bin')) as Buffer;

    expect(Buffer.compare(back, data)).toBe(0);
    expect(Buffer.compare(await fsp.readFile(path.join(root, 'drops', 'blob.bin')), data)).toBe(0);
  });

  it('truncates on overwrite and appends in append mode', async () => {
    await client.put(Buffer.from('first version, long'), '/drops/t.txt');
    await client.put(Buffer.from('second'), '/drops/t.txt');
    await client.append(Buffer.from('+more'), '/drops/t.txt');

    expect(await fsp.readFile(path.join(root, 'drops', 't.txt'), 'utf8')).toBe('second+more');
  });

  it('stats files and reports missing ones as not found', async () => {
    const stats = await client.stat('/drops/a.csv');

    expect(stats).toMatchObject({ isFile: true, isDirectory: false, size: 20 });
    expect(await client.exists('/drops/none.csv')).toBe(false);
    await expect(client.stat('/drops/none.csv')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('renames a finished upload but never over an existing file', async () => {
    await client.put(Buffer.from('x'), '/drops/c.csv.part');
    await client.put(Buffer.from('y'), '/drops/d.csv');

    await client.rename('/drops/c.csv.part', '/drops/c.csv');

    expect(await fsp.readFile(path.join(root, 'drops', 'c.csv'), 'utf8')).toBe('x');
    expect(await client.exists('/drops/c.csv.part')).toBe(false);
    await expect(client.rename('/drops/c.csv', '/drops/d.csv')).rejects.toThrow();
    expect(await fsp.readFile(path.join(root, 'drops', 'd.csv'), 'utf8')).toBe('y');
  });

  it('creates, removes and resolves directories and files', async () => {
    await client.mkdir('/made/deeper', true);
    await client.put(Buffer.from('z'), '/made/deeper/z.txt');

    expect((await fsp.stat(path.join(root, 'made', 'deeper'))).isDirectory()).toBe(true);
    await client.delete('/made/deeper/z.txt');
    await client.rmdir('/made/deeper');
    expect(await client.exists('/made/deeper')).toBe(false);
    expect(await client.realPath('.')).toBe('/');
    expect(await client.realPath('/drops/../drops/./a.csv')).toBe('/drops/a.csv');
  });

  it('keeps parent and absolute paths inside the root', async () => {
    await client.put(Buffer.from('caught'), '../../escaped.txt');

    expect(await fsp.readFile(path.join(root, 'escaped.txt'), 'utf8')).toBe('caught');
    await expect(client.get('../../etc/passwd')).rejects.toThrow(/No such file/);
    await expect(client.get('/../../../../etc/passwd')).rejects.toThrow(/No such file/);
    expect(await client.realPath('../../..')).toBe('/');
    expect(await client.exists(path.join(base, 'secret.txt'))).toBe(false);
  });

  it('refuses symbolic links that lead outside the root', async () => {
    await expect(client.get('/escape-link')).rejects.toThrow(/Permission denied/);
    const overwrite = client.put(Buffer.from('no'), '/escape-link');
    await expect(overwrite).rejects.toThrow(/Permission denied/);

    expect(await fsp.readFile(path.join(base, 'secret.txt'), 'utf8')).toBe('outside');
  });

  it('rejects a wrong password and other login methods', async () => {
    const wrong = new SftpClient('wrong', QUIET);
    const keyed = new SftpClient('keyed', QUIET);
    const { port, host } = server;
    // ECDSA because ssh2's Ed25519 generator sometimes writes keys it cannot read back.
    const privateKey = utils.generateKeyPairSync('ecdsa', { bits: 256 }).private;

    await expect(wrong.connect({ host, port, username: USER, password: 'nope' })).rejects.toThrow(
      /authentication methods failed/,
    );
    await expect(keyed.connect({ host, port, username: USER, privateKey })).rejects.toThrow(
      /authentication methods failed/,
    );
  });

  it('starts when ssh2 first generates an Ed25519 key it cannot read back', async () => {
    const unreadable = unreadableEd25519Key();
    const spy = jest.spyOn(utils, 'generateKeyPairSync').mockImplementationOnce(() => unreadable);
    let keysGenerated = 0;

    const starting = startSftpServer({ root, username: USER, password: PASSWORD });
    const other = await starting.finally(() => {
      keysGenerated = spy.mock.calls.length;
      spy.mockRestore();
    });
    const connected = new SftpClient('after-bad-key', QUIET);
    try {
      const { host, port } = other;
      await connected.connect({ host, port, username: USER, password: PASSWORD });

      // At least one more key after the unreadable one; a real key is itself unreadable about
      // 1 time in 256 (mscdex/ssh2#1390), so a third attempt is possible and fine.
      expect(keysGenerated).toBeGreaterThanOrEqual(2);
    } finally {
      await connected.end();
      await other.stop();
    }
  });

  it('stops while a client is still connected', async () => {
    const other = await startSftpServer({ root, username: USER, password: PASSWORD });
    const connected = new SftpClient('connected', QUIET);
    const { host, port } = other;
    await connected.connect({ host, port, username: USER, password: PASSWORD });

    await other.stop();

    await expect(connected.list('/')).rejects.toThrow();
  });
});

/** Generates Ed25519 pairs until ssh2 writes one it cannot parse (mscdex/ssh2#1390, ~1 in 256). */
function unreadableEd25519Key(): ReturnType<typeof utils.generateKeyPairSync> {
  for (let i = 0; i < 20_000; i++) {
    const pair = utils.generateKeyPairSync('ed25519');
    if (utils.parseKey(pair.private) instanceof Error) return pair;
  }
  throw new Error('No unreadable key found; ssh2 may have fixed its Ed25519 encoding');
}
