/**
 * Ports on this machine, for the tests, the benches and the dev scripts: one that is free now, and
 * whether a given one is.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/**
 * A TCP port nothing listens on right now on 127.0.0.1 (the OS picks it).
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Whether a TCP or UDP port is free on loopback and on all interfaces (livekit-server binds its RTC
 * ports on every interface).
 * @param {{ tcp: number } | { udp: number }} probe
 * @returns {Promise<boolean>}
 */
export async function isPortFree(probe) {
  for (const host of ['127.0.0.1', '0.0.0.0']) {
    const ok =
      'tcp' in probe
        ? await new Promise((done) => {
            const server = createServer();
            server.once('error', () => done(false));
            server.listen({ port: probe.tcp, host, exclusive: true }, () => server.close(() => done(true)));
          })
        : await new Promise((done) => {
            const socket = createSocket('udp4');
            socket.once('error', () => {
              socket.close();
              done(false);
            });
            socket.bind({ port: probe.udp, address: host, exclusive: true }, () => socket.close(() => done(true)));
          });
    if (!ok) return false;
  }
  return true;
}
