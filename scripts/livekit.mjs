#!/usr/bin/env node
/**
 * A real livekit-server for local dev (`npm run dev`, port 7880) and the tests (port 7980).
 *
 *   node scripts/livekit.mjs ensure                              prints the binary's path (builds it if needed)
 *   node scripts/livekit.mjs start [--port N] [--webhook URL]...  runs one until Ctrl-C (RTC on N+1 tcp, N+2 udp)
 *
 * The binary is $LIVEKIT_SERVER_BIN, else `livekit-server` on PATH, else .tools/bin/livekit-server-v<version>,
 * built once with `go install` (no npm or Debian package ships the server; the Go module proxy does).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAsScript } from './cli.mjs';
import { answers, ensureGoBinary, runUntilSignalled, startToolProcess, TOOLS } from './go-tool.mjs';

/** The pinned server version: the one the agents and SDKs here are tested against. */
export const LIVEKIT_SERVER_VERSION = '1.13.5';

const WITHOUT_GO = `Get livekit-server ${LIVEKIT_SERVER_VERSION} another way and point LIVEKIT_SERVER_BIN at it (or put it on PATH as livekit-server):
  - Homebrew: brew install livekit
  - a release binary: https://github.com/livekit/livekit-server/releases
  - Docker, for development beside \`npm run dev:api\` only (npm run dev and npm test need a binary):
      docker run --rm -p 7880:7880 -p 7881:7881 -p 7882:7882/udp livekit/livekit-server --dev --bind 0.0.0.0
Or install Go 1.26+ (https://go.dev/dl/) and this script builds it once into .tools/bin.`;

/**
 * Absolute path of a livekit-server binary; builds the pinned version into `.tools/bin` the first time.
 * @param {{ toolsDir?: string }} [options]  toolsDir: where the built binary is cached (default `<repo>/.tools`)
 * @returns {Promise<string>}
 */
export function ensureLivekitServer({ toolsDir = TOOLS } = {}) {
  return ensureGoBinary({
    tool: 'livekit-server',
    version: LIVEKIT_SERVER_VERSION,
    goPackage: `github.com/livekit/livekit-server/cmd/server@v${LIVEKIT_SERVER_VERSION}`,
    builtName: 'server',
    envVar: 'LIVEKIT_SERVER_BIN',
    logPrefix: 'livekit',
    buildTime: 'about 2.5 minutes',
    withoutGo: WITHOUT_GO,
    toolsDir,
  });
}

/**
 * @typedef {object} LivekitServerOptions
 * @property {number} [port]          HTTP/WebSocket (signalling and the server API)
 * @property {number} [rtcTcpPort]    WebRTC over TCP
 * @property {number} [udpPort]       WebRTC over UDP, one port for all peers
 * @property {string[]} [webhookUrls] receive signed webhooks (room_started, participant_joined, ...)
 * @property {string} [apiKey]
 * @property {string} [apiSecret]
 * @property {'debug' | 'info' | 'warn' | 'error'} [logLevel]
 * @property {string} [logFile]       its output is also appended to this file
 */

/**
 * @typedef {object} LivekitServer
 * @property {string} url       ws:// for clients and agents
 * @property {string} httpUrl   http:// for the server API (RoomServiceClient, AgentDispatchClient)
 * @property {string} apiKey
 * @property {string} apiSecret
 * @property {Promise<number>} exited  resolves with the exit code (128 + signal) when the server exits
 * @property {() => Promise<void>} stop  SIGTERM (again after 1 s, to force past draining), SIGKILL after 5 s;
 *   resolves once it has exited
 */

/**
 * Starts livekit-server on 127.0.0.1 with a config written to `.tools/livekit-<port>.yaml`; resolves once
 * it answers HTTP. Its log (at `logLevel`) goes to this process's stderr.
 * @param {LivekitServerOptions} [options]
 * @returns {Promise<LivekitServer>}
 */
export async function startLivekitServer({
  port = 7880,
  rtcTcpPort = 7881,
  udpPort = 7882,
  webhookUrls = [],
  apiKey = 'devkey',
  apiSecret = 'secret',
  logLevel = 'warn',
  logFile,
} = {}) {
  const httpUrl = `http://127.0.0.1:${port}`;
  const configFile = join(TOOLS, `livekit-${port}.yaml`);
  await assertPortFree(httpUrl, configFile);

  const bin = await ensureLivekitServer();
  mkdirSync(TOOLS, { recursive: true });
  writeFileSync(configFile, configYaml({ port, rtcTcpPort, udpPort, webhookUrls, apiKey, apiSecret, logLevel }), {
    mode: 0o600,
  });
  chmodSync(configFile, 0o600);

  // --dev keeps the keys from the config (it only fills in devkey/secret when there are none); it also
  // silences the "secret shorter than 32 characters" error and the UDP buffer size warning.
  // The first SIGTERM drains: livekit-server waits (indefinitely) for participants to leave. A second one,
  // a second later, forces it to close their connections and exit; SIGKILL if even that hangs.
  const { exited, stop } = await startToolProcess({
    name: 'livekit-server',
    bin,
    args: ['--config', configFile, '--dev'],
    readyUrl: `${httpUrl}/`,
    stopSignals: ['SIGTERM', 'SIGTERM'],
    logFile,
  });
  return { url: `ws://127.0.0.1:${port}`, httpUrl, apiKey, apiSecret, exited, stop };
}

/**
 * Fails when something already answers at `httpUrl`, saying whether it is a leftover livekit-server.
 * @param {string} httpUrl
 * @param {string} configFile
 */
async function assertPortFree(httpUrl, configFile) {
  if (!(await answers(`${httpUrl}/`))) return;
  // livekit-server answers its Twirp API without a token with 401 "unauthenticated".
  const twirp = await fetch(`${httpUrl}/twirp/livekit.RoomService/ListRooms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
    signal: AbortSignal.timeout(2_000),
  }).then(
    (r) => r.text(),
    () => '',
  );
  const port = new URL(httpUrl).port;
  throw new Error(
    twirp.includes('unauthenticated')
      ? `a livekit-server is already running at ${httpUrl}, probably left by an earlier run; stop it first ` +
          `(\`pgrep -af ${configFile}\` shows it if this script started it) rather than reusing a server ` +
          'whose keys and webhooks may differ'
      : `port ${port} is already in use by something that is not livekit-server (${httpUrl} answers)`,
  );
}

/**
 * @param {Required<LivekitServerOptions>} o
 * @returns {string}
 */
function configYaml(o) {
  const q = JSON.stringify; // a JSON string is a valid YAML double-quoted scalar
  const lines = [
    `# Written by scripts/livekit.mjs; rewritten at every start.`,
    `port: ${o.port}`,
    'bind_addresses:',
    `  - ${q('127.0.0.1')}`,
    'rtc:',
    `  tcp_port: ${o.rtcTcpPort}`,
    `  udp_port: ${o.udpPort}`,
    '  use_external_ip: false',
    // Everything runs on this machine: advertise loopback, not whatever interface the host has.
    `  node_ip: ${q('127.0.0.1')}`,
    'keys:',
    `  ${q(o.apiKey)}: ${q(o.apiSecret)}`,
    'logging:',
    `  level: ${q(o.logLevel)}`,
    // The Worker creates every room (POST /api/rooms) before it hands out a token. With auto-create on, a
    // still-valid token (or an agent dispatch) would bring back a room the Worker deleted (a deletion, an
    // erasure, a session ended); off, joining a room that does not exist is refused with 404.
    'room:',
    '  auto_create: false',
  ];
  if (o.webhookUrls.length > 0) {
    lines.push('webhook:', `  api_key: ${q(o.apiKey)}`, '  urls:', ...o.webhookUrls.map((u) => `    - ${q(u)}`));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The command line (see the top of this file).
 * @param {readonly string[]} argv
 * @returns {Promise<number>} exit code
 */
export async function main(argv) {
  const [command, ...rest] = argv;
  if (command === 'ensure' && rest.length === 0) {
    console.log(await ensureLivekitServer());
    return 0;
  }
  if (command !== 'start') throw new Error('usage: livekit.mjs ensure | start [--port N] [--webhook URL]...');

  let port = 7880;
  /** @type {string[]} */
  const webhookUrls = [];
  for (let i = 0; i < rest.length; i += 2) {
    const [flag, value] = [rest[i], rest[i + 1]];
    if (flag === '--port' && value && /^\d+$/.test(value)) port = Number(value);
    else if (flag === '--webhook' && value) webhookUrls.push(new URL(value).href);
    else throw new Error(`unknown or incomplete argument: ${flag} (start takes --port N and --webhook URL)`);
  }

  const server = await startLivekitServer({ port, rtcTcpPort: port + 1, udpPort: port + 2, webhookUrls });
  console.log(
    `livekit: ready at ${server.url} (API key ${server.apiKey}; RTC on tcp ${port + 1}, udp ${port + 2})` +
      (webhookUrls.length > 0 ? `, webhooks to ${webhookUrls.join(', ')}` : ''),
  );
  return runUntilSignalled(server);
}

runAsScript(import.meta.url, 'livekit', main);
