import { promises as fsp } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { readCsv } from '../../connectors/files/csv-reader';
import { AuthError, BadInputError, ConfigError, UpstreamError } from '../../connectors/errors';
import { SftpSource } from '../../connectors/sftp/source';
import type { SftpConnectionOptions } from '../../connectors/sftp/source';
import { startSftpServer } from '../../emulators/sftp/server';
import type { RunningSftpServer } from '../../emulators/sftp/server';

const USER = 'partner';
const PASSWORD = 'Pa55-not-in-messages';
const PATTERN = /^contacts_\d{8}\.csv$/;
const CONTACTS = 'email,first_name\r\nlea.martin@example.org,Léa\r\njonas@example.de,Jonas\r\n';

describe('SftpSource', () => {
  let root: string;
  let server: RunningSftpServer;
  let conn: SftpConnectionOptions;

  beforeAll(async () => {
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'braid-sftp-source-'));
    const drops = path.join(root, 'drops');
    await fsp.mkdir(path.join(drops, 'contacts_20260304.csv'), { recursive: true });
    await fsp.writeFile(path.join(drops, 'contacts_20260302.csv'), CONTACTS);
    await fsp.writeFile(path.join(drops, 'contacts_20260301.csv'), 'email\n');
    await fsp.writeFile(path.join(drops, 'contacts_20260303.csv.part'), 'email\npartial');
    await fsp.writeFile(path.join(drops, 'notes.txt'), 'not a drop');
    const mtime = new Date('2026-03-02T08:59:58Z');
    await fsp.utimes(path.join(drops, 'contacts_20260302.csv'), mtime, mtime);
    server = await startSftpServer({ root, username: USER, password: PASSWORD });
    conn = { host: server.host, port: server.port, username: USER, password: PASSWORD };
  });

  afterAll(async () => {
    await server.stop();
    await fsp.rm(root, { recursive: true, force: true });
  });

  async function connected(pattern = PATTERN, directory = '/drops'): Promise<SftpSource> {
    const source = new SftpSource(conn, { directory, pattern });
    await source.connect();
    return source;
  }

  it('lists only regular files matching the pattern, in name order', async () => {
    const source = await connected();

    const files = await source.listMatching();
    await source.end();

    expect(files).toEqual([
      {
        name: 'contacts_20260301.csv',
        path: '/drops/contacts_20260301.csv',
        sizeBytes: 6,
        modifiedAtMs: expect.any(Number),
      },
      {
        name: 'contacts_20260302.csv',
        path: '/drops/contacts_20260302.csv',
        sizeBytes: Buffer.byteLength(CONTACTS),
        modifiedAtMs: Date.parse('2026-03-02T08:59:58Z'),
      },
    ]);
  });

  it('lists every match when the pattern carries the global flag', async () => {
    const source = await connected(/^contacts_\d{8}\.csv$/g);

    const names = (await source.listMatching()).map((file) => file.name);
    await source.end();

    expect(names).toEqual(['contacts_20260301.csv', 'contacts_20260302.csv']);
  });

  it('streams a file into the CSV reader', async () => {
    const source = await connected();

    const items = [];
    for await (const item of readCsv(source.openReadStream('contacts_20260302.csv'), {
      fileName: 'contacts_20260302.csv',
    })) {
      items.push(item);
    }
    await source.end();

    expect(items).toEqual([
      { kind: 'header', columns: ['email', 'first_name'], delimiter: ',' },
      { kind: 'row', line: 2, values: { email: 'lea.martin@example.org', first_name: 'Léa' } },
      { kind: 'row', line: 3, values: { email: 'jonas@example.de', first_name: 'Jonas' } },
    ]);
  });

  it('refuses names outside the pattern, such as uploads in progress or other paths', async () => {
    const source = await connected();

    expect(() => source.openReadStream('contacts_20260303.csv.part')).toThrow(BadInputError);
    expect(() => source.openReadStream('../drops/contacts_20260302.csv')).toThrow(BadInputError);
    await source.end();
  });

  it('reports a listed file that has vanished as a retryable error on the stream', async () => {
    const source = await connected();

    const stream = source.openReadStream('contacts_20991231.csv');
    const failure = await new Promise<unknown>((resolve) => stream.on('error', resolve));
    await source.end();

    expect(failure).toBeInstanceOf(UpstreamError);
    expect((failure as UpstreamError).retryable).toBe(true);
  });

  it('reports a missing directory as a configuration error', async () => {
    const source = await connected(PATTERN, '/nowhere');

    await expect(source.listMatching()).rejects.toBeInstanceOf(ConfigError);
    await source.end();
  });

  it('turns a wrong password into an AuthError naming host and user, not password', async () => {
    const options = { ...conn, password: 'Wrong-Pa55-not-in-messages' };
    const source = new SftpSource(options, { directory: '/', pattern: PATTERN });

    const failure = await source.connect().then(
      () => undefined,
      (err: unknown) => err,
    );

    expect(failure).toBeInstanceOf(AuthError);
    const auth = failure as AuthError;
    expect(auth.retryable).toBe(false);
    expect(auth.message).toContain(`${server.host}:${server.port}`);
    expect(auth.message).toContain(USER);
    const seen = JSON.stringify({ ...auth, message: auth.message, cause: String(auth.cause) });
    expect(seen).not.toMatch(/Pa55/);
  });

  it('turns a refused connection into a retryable UpstreamError', async () => {
    const port = await closedLoopbackPort();
    const source = new SftpSource({ ...conn, port }, { directory: '/', pattern: PATTERN });

    const failure = await source.connect().then(
      () => undefined,
      (err: unknown) => err,
    );

    expect(failure).toBeInstanceOf(UpstreamError);
    expect(failure).toMatchObject({ retryable: true, status: undefined });
  });

  it('turns a server that never answers into a retryable UpstreamError', async () => {
    const accepted: net.Socket[] = [];
    const silent = net.createServer((socket) => accepted.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const options = { ...conn, port, readyTimeoutMs: 300 };
    const source = new SftpSource(options, { directory: '/', pattern: PATTERN });

    const failure = await source.connect().then(
      () => undefined,
      (err: unknown) => err,
    );
    accepted.forEach((socket) => socket.destroy());
    await new Promise<void>((resolve) => silent.close(() => resolve()));

    expect(failure).toBeInstanceOf(UpstreamError);
    expect(failure).toMatchObject({ retryable: true });
    expect((failure as Error).message).toContain('did not complete the SSH handshake');
  });

  it('requires a password or key, and a connection before use', async () => {
    const noSecret = { host: conn.host, port: conn.port, username: USER };
    const source = new SftpSource(conn, { directory: '/', pattern: PATTERN });

    const create = (): SftpSource => new SftpSource(noSecret, { directory: '/', pattern: PATTERN });
    expect(create).toThrow(ConfigError);
    await expect(source.listMatching()).rejects.toBeInstanceOf(ConfigError);
    await source.end();
    await source.end();
  });
});

/** A loopback port that was just ours and is now closed, so connecting to it is refused. */
async function closedLoopbackPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
