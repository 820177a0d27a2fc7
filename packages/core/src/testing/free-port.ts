import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 nothing listens on right now, for tests and benchmarks that start a server. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => (port ? resolve(port) : reject(new Error('the OS gave no port'))));
    });
    s.on('error', reject);
  });
}
