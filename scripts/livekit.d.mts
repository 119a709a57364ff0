// Types for scripts/livekit.mjs, for TypeScript importers (workers/test/livekit.global-setup.ts).

/** The pinned server version built into .tools/bin when no other binary is found. */
export declare const LIVEKIT_SERVER_VERSION: string;

/** Absolute path of a livekit-server binary: $LIVEKIT_SERVER_BIN, PATH, or .tools/bin (built once with go install). */
export declare function ensureLivekitServer(options?: { toolsDir?: string }): Promise<string>;

export interface LivekitServerOptions {
  /** HTTP/WebSocket (signalling and the server API); default 7880. */
  port?: number;
  /** WebRTC over TCP; default 7881. */
  rtcTcpPort?: number;
  /** WebRTC over UDP, one port for all peers; default 7882. */
  udpPort?: number;
  /** Receivers of signed webhooks (room_started, participant_joined, ...). */
  webhookUrls?: string[];
  /** Default devkey. */
  apiKey?: string;
  /** Default secret. */
  apiSecret?: string;
  /** Default warn. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Its output is also appended to this file (the e2e stack greps it). */
  logFile?: string;
}

export interface LivekitServer {
  /** ws:// for clients and agents. */
  url: string;
  /** http:// for the server API (RoomServiceClient, AgentDispatchClient). */
  httpUrl: string;
  apiKey: string;
  apiSecret: string;
  /** Resolves with the exit code (128 + signal number) when the server exits. */
  exited: Promise<number>;
  /** SIGTERM (again after 1 s: the first only drains, waiting for participants to leave), SIGKILL after 5 s; resolves once exited. */
  stop(): Promise<void>;
}

/** Starts livekit-server on 127.0.0.1; resolves once it answers HTTP. Fails if the port is already taken. */
export declare function startLivekitServer(options?: LivekitServerOptions): Promise<LivekitServer>;

/** The command line: `ensure` or `start [--port N] [--webhook URL]...`; resolves with the exit code. */
export declare function main(argv: readonly string[]): Promise<number>;
