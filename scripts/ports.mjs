/**
 * Ports on this machine, for the tests, the benches and the dev scripts: whether a given one is free.
 * (A port that is free now: agent-host/src/lib/free-port.ts, which the agent needs in production too.)
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

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
