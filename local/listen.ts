import type { AddressInfo, Server } from 'node:net';

/**
 * Starts listening and resolves with the port (0 picks a free one). A failure to bind (port in
 * use) rejects instead of becoming an unhandled 'error' event.
 */
export async function listen(server: Server, host: string, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
