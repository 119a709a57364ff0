/**
 * A room gets its AI while the machine looks busy. agents-js reports the machine's CPU as the worker's
 * load by default, and livekit-server 1.13.5 refuses a job to a worker whose load is 0.7 or more, leaving
 * the dispatch with no job (docs/operations.md, "Rooms per agent-host"). Here the agent-host runs with
 * `NUM_CPUS=0.001`, so agents-js reads any CPU use of the machine as a load of 1.0. The agent-host
 * reports its load in rooms (agent-host/src/agent/load.ts), so the room must still get its AI. Between
 * the worker and livekit-server sits a relay that reads the load reports, so the room is opened only
 * once livekit-server knows the worker's load.
 */

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Standins, startStandins } from '../agent-host/dev/standins';
import { eventually, transcriptOf } from './helpers';
import { AgentProcess, DISTINCT_PHRASES, joinWithMicrophone, type LiveSession } from './voice';

const roomService = new RoomServiceClient(inject('livekitHttpUrl'), inject('livekitApiKey'), inject('livekitApiSecret'));

/**
 * A TCP relay to livekit-server that decodes what the agent worker sends on its `/agent` WebSocket
 * and keeps the load of each `updateWorker` report (WorkerMessage field 3, UpdateWorkerStatus.load field 3;
 * proto3 leaves a load of 0 out). Compression is refused in the handshake so the frames are plain protobuf.
 */
class LoadReportRelay {
  readonly loads: number[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly target: URL) {
    this.server = createServer((client) => this.relay(client));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('the relay has no port');
    return `ws://127.0.0.1:${address.port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: Socket): void {
    const upstream = connect(Number(this.target.port), this.target.hostname);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.pipe(client);
    let head = Buffer.alloc(0);
    let frames: Buffer | null = null;
    const onData = (chunk: Buffer) => {
      if (frames) {
        frames = this.readFrames(Buffer.concat([frames, chunk]));
        upstream.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const request = head
        .subarray(0, end)
        .toString('latin1')
        .split('\r\n')
        .filter((line) => !/^sec-websocket-extensions:/i.test(line));
      const rest = head.subarray(end + 4);
      upstream.write(`${request.join('\r\n')}\r\n\r\n`);
      upstream.write(rest);
      if (/^GET \/agent\b/.test(request[0] ?? '')) frames = this.readFrames(rest);
      else {
        // Not the worker's connection (a job joining its room): bytes as they come.
        client.off('data', onData);
        client.pipe(upstream);
      }
    };
    client.on('data', onData);
  }

  /** Reads the whole client frames in `data` (masked, RFC 6455 5.2); answers the bytes of an unfinished one. */
  private readFrames(data: Buffer): Buffer {
    let at = 0;
    while (data.length - at >= 2) {
      const opcode = data[at]! & 0x0f;
      let length = data[at + 1]! & 0x7f;
      let offset = at + 2;
      if (length === 126) {
        if (data.length < offset + 2) break;
        length = data.readUInt16BE(offset);
        offset += 2;
      } else if (length === 127) {
        if (data.length < offset + 8) break;
        length = Number(data.readBigUInt64BE(offset));
        offset += 8;
      }
      if (data.length < offset + 4 + length) break;
      const mask = data.subarray(offset, offset + 4);
      const payload = Buffer.from(data.subarray(offset + 4, offset + 4 + length));
      for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
      if (opcode === 2) {
        const load = updateWorkerLoad(payload);
        if (load !== null) this.loads.push(load);
      }
      at = offset + 4 + length;
    }
    return data.subarray(at);
  }
}

/** The load of a WorkerMessage that is an updateWorker report; null for any other message. */
function updateWorkerLoad(message: Buffer): number | null {
  const fields = protoFields(message);
  const update = fields.find((f) => f.field === 3 && f.bytes);
  if (!update?.bytes) return null;
  const load = protoFields(update.bytes).find((f) => f.field === 3 && f.bytes?.length === 4);
  return load?.bytes ? Math.round(load.bytes.readFloatLE(0) * 100) / 100 : 0;
}

/** The top-level fields of a protobuf message (varints skipped; length-delimited and 32-bit ones kept as bytes). */
function protoFields(buf: Buffer): { field: number; bytes?: Buffer }[] {
  const out: { field: number; bytes?: Buffer }[] = [];
  let at = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; at < buf.length; shift += 7) {
      const b = buf[at++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
    }
    return value;
  };
  while (at < buf.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) varint();
    else if (wire === 1) at += 8;
    else if (wire === 2 || wire === 5) {
      const length = wire === 2 ? varint() : 4;
      out.push({ field, bytes: buf.subarray(at, at + length) });
      at += length;
    } else break;
  }
  return out;
}

describe('a room gets its AI while the machine looks busy', () => {
  let standins: Standins;
  let relay: LoadReportRelay;
  let agent: AgentProcess | undefined;
  let outboxDir = '';
  let session: LiveSession | undefined;

  beforeAll(async () => {
    standins = await startStandins({ stt: DISTINCT_PHRASES, chatScript: { defaultReply: 'Tell me more about that.' } });
    relay = new LoadReportRelay(new URL(inject('livekitUrl')));
    const relayUrl = await relay.listen();
    outboxDir = mkdtempSync(join(tmpdir(), 'hc-agent-outbox-'));
    // agents-js divides the container's CPU time by NUM_CPUS: with 0.001 CPUs, any use reads as a load of 1.0.
    process.env.NUM_CPUS = '0.001';
    agent = await AgentProcess.startOfflineAt(standins, outboxDir, {
      apiOrigin: inject('apiOrigin'),
      livekitUrl: relayUrl,
      livekitApiKey: inject('livekitApiKey'),
      livekitApiSecret: inject('livekitApiSecret'),
      agentHostSecret: inject('agentHostSecret'),
    });
  });

  afterAll(async () => {
    delete process.env.NUM_CPUS;
    session?.mic.stop();
    await session?.participant.disconnect();
    if (session) await roomService.deleteRoom(session.roomName).catch(() => undefined);
    await agent?.stop();
    await relay?.close();
    await standins?.close();
    rmSync(outboxDir, { recursive: true, force: true });
  });

  it('greets the client in a room opened after the worker reported its load', { timeout: 120_000 }, async () => {
    // NUM_CPUS pins the load only where agents-js reads a cgroup's CPU counter (as on these machines).
    expect(existsSync('/sys/fs/cgroup/cpuacct/cpuacct.usage') || existsSync('/sys/fs/cgroup/cpu.stat')).toBe(true);
    // agents-js reports its first load 2.5 s after registering (the default CPU load 2.5 s later still).
    await eventually('the worker to report its load to livekit-server', () => relay.loads.length >= 2, { timeoutMs: 30_000 });
    console.log(`agent-dispatch-busy: the worker reported loads ${relay.loads.join(', ')} before the room opened`);

    session = await joinWithMicrophone('member@example.com');
    const s = session;
    await eventually('the AI to greet the client', async () => (await transcriptOf(s.sessionId, s.token)).some((l) => l.speakerRole === 'ai'), {
      timeoutMs: 60_000,
      describe: () => `loads reported: ${relay.loads.join(', ')}\n${agent!.output.slice(-10).join('')}`,
    });
  });
});
