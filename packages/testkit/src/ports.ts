import { createServer } from 'node:net';

/**
 * A port that was free a moment ago on 127.0.0.1. Hand it to the server at once: another process may take it
 * between our close and the server's bind, so harnesses that can should let the server pick port 0 itself.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  if (address === null || typeof address === 'string') {
    throw new Error(`freePort: expected a TCP address, got ${String(address)}`);
  }
  return address.port;
}
