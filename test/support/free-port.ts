import { createServer } from 'node:net';

/** Returns a TCP port on 127.0.0.1 that was free a moment ago, for servers that must know it up front. */
export async function freePort(): Promise<number> {
  const server = createServer();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });

  const address = server.address();

  await new Promise<void>((resolve) => server.close(() => resolve()));

  if (address === null || typeof address !== 'object') {
    throw new Error('the probe server has no TCP address');
  }

  return address.port;
}
