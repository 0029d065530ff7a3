import { createHash, timingSafeEqual } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Server, utils } from 'ssh2';
import type { Connection } from 'ssh2';

import { SftpSession } from './sftp-session';

const HOST_KEY_ATTEMPTS = 4;

/** Options for {@link startSftpServer}. */
export interface SftpServerOptions {
  /** Local directory served as `/`; clients cannot reach anything outside it. */
  root: string;
  username: string;
  password: string;
  /** Defaults to 127.0.0.1. */
  host?: string;
  /** Defaults to 0, a free port chosen by the system. */
  port?: number;
}

/** A running emulator; `stop()` disconnects clients and closes the listener. */
export interface RunningSftpServer {
  host: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts an SFTP server (SSH with password login) that serves `root` as its whole file system.
 * The host key is generated afresh at each start, so clients must not pin it. Paths resolve
 * inside `root`: `..`, absolute paths and symbolic links pointing outside are refused.
 */
export async function startSftpServer(opts: SftpServerOptions): Promise<RunningSftpServer> {
  const root = await fsp.realpath(opts.root);
  const clients = new Set<Connection>();
  const server = new Server({ hostKeys: [generateHostKey()] }, (client) => {
    clients.add(client);
    client.on('close', () => clients.delete(client));
    // A client that vanishes mid-session raises a socket error; it only ends that session.
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      const ok =
        ctx.method === 'password' &&
        sameSecret(ctx.username, opts.username) &&
        sameSecret(ctx.password, opts.password);
      if (ok) ctx.accept();
      else ctx.reject(['password']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        accept().on('sftp', (acceptSftp) => new SftpSession(acceptSftp(), root).attach());
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      // Later listener errors must not crash the process that embeds the emulator.
      server.on('error', () => undefined);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    host: address.address,
    port: address.port,
    stop: async () => {
      for (const client of clients) client.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function generateHostKey(): string {
  // ssh2 1.17 strips leading zero bytes from Ed25519 keys, so about 1 key in 256 cannot be parsed
  // back (mscdex/ssh2#1390); a key is checked before use and RSA is the last resort.
  for (let attempt = 0; attempt < HOST_KEY_ATTEMPTS; attempt++) {
    const key = tryGenerate(() => utils.generateKeyPairSync('ed25519').private);
    if (key !== undefined) return key;
  }
  return utils.generateKeyPairSync('rsa', { bits: 2048 }).private;
}

function tryGenerate(generate: () => string): string | undefined {
  try {
    const key = generate();
    return utils.parseKey(key) instanceof Error ? undefined : key;
  } catch {
    // Some OpenSSL builds cannot export Ed25519 keys at all.
    return undefined;
  }
}

function sameSecret(given: string, expected: string): boolean {
  // Hashing first gives equal lengths, so the comparison time says nothing about the secret.
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
