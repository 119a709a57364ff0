import { describe, expect, it } from 'vitest';
import { inspectPacket, openPacket, PACKET_TOPICS, packetKey, readPacket, sealPacket } from '../src/room-packets';
import { sealAnyBody } from './seal-any-body';

const SECRET = 'test-only-agent-host-secret-0123456789abcdef';
const encode = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe('server packets into a session room', () => {
  it('opens a packet sealed for this session and topic', async () => {
    const key = await packetKey(SECRET, 's1');
    const sealed = await sealPacket(key, PACKET_TOPICS.whisper, { type: 'whisper', id: 'w1', text: 'Ask about her evenings' });
    expect(await openPacket(key, 'hc.whisper', sealed)).toEqual({ topic: 'hc.whisper', body: { type: 'whisper', id: 'w1', text: 'Ask about her evenings' } });
  });

  it('refuses a packet without a mac, with a changed body, for another session, on another topic, or sealed with another secret', async () => {
    const key = await packetKey(SECRET, 's1');
    const body = { type: 'coach-mute', muted: true, version: 3, coachId: 'c1', changedAt: 1 } as const;
    const sealed = await sealPacket(key, PACKET_TOPICS.control, body);
    const envelope = JSON.parse(new TextDecoder().decode(sealed)) as { v: 1; body: typeof body; mac: string };

    // What a participant or a leaked API key could send: the bare body, as before sealing existed.
    expect(await openPacket(key, 'hc.control', encode(body))).toBeNull();
    expect(await openPacket(key, 'hc.control', encode({ ...envelope, body: { ...body, muted: false } }))).toBeNull();
    expect(await openPacket(await packetKey(SECRET, 's2'), 'hc.control', sealed)).toBeNull();
    expect(await openPacket(key, 'hc.whisper', sealed)).toBeNull();
    expect(await openPacket(await packetKey('another-secret-another-secret-another-00', 's1'), 'hc.control', sealed)).toBeNull();
    expect(await openPacket(key, 'hc.control', new TextEncoder().encode('not json'))).toBeNull();
    expect(await openPacket(key, undefined, sealed)).toBeNull();
  });

  it('tells a sealed packet of the wrong shape from one not sealed for this session', async () => {
    const key = await packetKey(SECRET, 's1');
    // The mute flag as a string: a sender whose idea of the control packet drifted from the schema.
    const drifted = await sealAnyBody(key, PACKET_TOPICS.control, { type: 'coach-mute', muted: 'yes', version: 4, coachId: 'c1', changedAt: 1 });
    expect(await inspectPacket(key, 'hc.control', drifted)).toEqual({ refused: 'malformed' });
    expect(await inspectPacket(await packetKey(SECRET, 's2'), 'hc.control', drifted)).toEqual({ refused: 'not-sealed' });
    expect(await inspectPacket(key, 'hc.control', new TextEncoder().encode('not json'))).toEqual({ refused: 'malformed' });
    expect(await inspectPacket(key, 'lk.chat', drifted)).toEqual({ refused: 'unknown' });
    const good = await sealAnyBody(key, PACKET_TOPICS.control, { type: 'coach-mute', muted: true, version: 4, coachId: 'c1', changedAt: 1 });
    expect(await inspectPacket(key, 'hc.control', good)).toEqual({
      packet: { topic: 'hc.control', body: { type: 'coach-mute', muted: true, version: 4, coachId: 'c1', changedAt: 1 } },
    });
  });

  it('refuses to seal a body that does not match its topic', async () => {
    const key = await packetKey(SECRET, 's1');
    // @ts-expect-error a whisper body on the timer topic
    await expect(sealPacket(key, PACKET_TOPICS.timer, { type: 'whisper', id: 'x', text: 'y' })).rejects.toThrow();
  });

  it('lets a portal read a timer packet, and nothing malformed', async () => {
    const key = await packetKey(SECRET, 's1');
    const sealed = await sealPacket(key, PACKET_TOPICS.timer, { type: 'warning', minutesLeft: 5, endsAt: 123 });
    expect(readPacket('hc.timer', sealed)).toEqual({ type: 'warning', minutesLeft: 5, endsAt: 123 });
    expect(readPacket('hc.timer', encode({ v: 1, body: { type: 'warning' }, mac: '' }))).toBeNull();
  });
});
