/**
 * Plumbing shared by the stand-ins: a loopback HTTP server that also accepts WebSocket upgrades.
 *
 * WebSockets come from `ws`, the library the Deepgram plugin itself connects with. The project has
 * no direct dependency on it (nor @types/ws), so it is resolved through the plugin, which always
 * brings it, and typed here with the little this folder uses.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** The part of a `ws` WebSocket the stand-ins use. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string | Uint8Array, cb?: (error?: Error) => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): this;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
}

interface WebSocketServerLike {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: WebSocketLike) => void): void;
  close(): void;
}

/** A client socket: the server-side shape plus the events a client waits on. */
export interface WebSocketClient extends WebSocketLike {
  once(event: 'open', listener: () => void): this;
  once(event: 'error', listener: (error: Error) => void): this;
  once(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  once(event: 'unexpected-response', listener: (req: unknown, res: IncomingMessage) => void): this;
}

interface WsModule {
  WebSocketServer: new (opts: { noServer: true; perMessageDeflate?: boolean }) => WebSocketServerLike;
  WebSocket: new (url: string, opts?: { headers?: Record<string, string> }) => WebSocketClient;
}

const requireHere = createRequire(import.meta.url);
const ws = createRequire(requireHere.resolve('@livekit/agents-plugin-deepgram'))('ws') as WsModule;

export const WS_OPEN = 1;

/**
 * Opens a WebSocket (for tests that speak a protocol by hand). Resolves once open; rejects with
 * the HTTP status when the server refuses the upgrade.
 */
export function openWebSocket(url: string, headers: Record<string, string> = {}): Promise<WebSocketClient> {
  const client = new ws.WebSocket(url, { headers });
  return new Promise((resolve, reject) => {
    client.once('open', () => resolve(client));
    client.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
    client.once('error', reject);
  });
}

export interface Route {
  /** Handles a plain HTTP request; returns false if the path is not its own. */
  request?(req: IncomingMessage, res: ServerResponse, url: URL): boolean;
  /** Handles an accepted WebSocket; returns false if the path is not its own. */
  socket?(ws: WebSocketLike, req: IncomingMessage, url: URL): boolean;
  /** Refuses an upgrade before it is accepted (e.g. 401), answering with a status; or undefined. */
  refuseUpgrade?(req: IncomingMessage, url: URL): { status: number; body: string } | undefined;
  /** Called on close, before the server stops. */
  close?(): void;
}

export interface RunningServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** How long the stand-ins keep an idle HTTP connection open. */
const IDLE_CONNECTION_MS = 120_000;

/** Starts an HTTP + WebSocket server on 127.0.0.1 at a free port, routing to the first route that claims a path. */
export async function listenLoopback(routes: Route[], port = 0): Promise<RunningServer> {
  const wss = new ws.WebSocketServer({ noServer: true, perMessageDeflate: false });
  const sockets = new Set<WebSocketLike>();
  const connections = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    try {
      for (const route of routes) if (route.request?.(req, res, url)) return;
      sendJson(res, 404, { err_code: 'NOT_FOUND', err_msg: `no route for ${req.method} ${url.pathname}` });
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, { err_code: 'INTERNAL', err_msg: String(error) });
      else res.destroy();
    }
  });
  // A vendor's HTTPS edge keeps an idle connection open for minutes, not Node's 5 s (which it also
  // announces in a Keep-Alive header): the client's own keep-alive decides, as against the real ones.
  server.keepAliveTimeout = IDLE_CONNECTION_MS;
  server.on('connection', (socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    for (const route of routes) {
      const refusal = route.refuseUpgrade?.(req, url);
      if (refusal) {
        socket.end(
          `HTTP/1.1 ${refusal.status} Refused\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${Buffer.byteLength(refusal.body)}\r\nConnection: close\r\n\r\n${refusal.body}`,
        );
        return;
      }
    }
    wss.handleUpgrade(req, socket, head, (client) => {
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      client.on('error', () => sockets.delete(client));
      for (const route of routes) if (route.socket?.(client, req, url)) return;
      client.close(1008, `no WebSocket route for ${url.pathname}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actualPort = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actualPort}`,
    port: actualPort,
    close: async () => {
      for (const route of routes) route.close?.();
      for (const client of sockets) client.terminate();
      wss.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of connections) socket.destroy();
      });
    },
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a request body to the end. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Query parameters as recorded for tests: repeated keys become arrays, in order. */
export function queryRecord(url: URL): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const prior = out[key];
    out[key] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  return out;
}

/** A message payload as bytes, whatever shape `ws` delivered it in. */
export function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

export function requestId(): string {
  return crypto.randomUUID();
}
