import { createServer } from 'node:net';

/**
 * A loopback port nothing listens on right now, for a child process to listen on: the sandbox and the
 * test deployments start their hosts as separate processes, which cannot hand back an ephemeral port.
 */
export const freeLoopbackPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('the operating system gave no loopback port')),
      );
    });
  });
