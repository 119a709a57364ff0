import { readRoomEvent } from '@hybrid-coach/shared/room-events';
import { describe, expect, it } from 'vitest';
import { bearer, body, createUser, openRoomSocket, post, signIn } from '../test/helpers';

describe('the live events portals read', () => {
  it('are what the session’s object sends: every event of a session that starts and ends parses, and "ended" says when, as the packet does', async () => {
    const client = await createUser({ tier: 'VAGUS_MEMBER' });
    const token = await signIn(client.email);
    const { sessionId } = (await body<{ sessionId: string }>(await post('/api/rooms', {}, bearer(token)))).data;
    const ws = (await openRoomSocket(sessionId, token)).webSocket!;
    ws.accept();
    const raw: string[] = [];
    ws.addEventListener('message', (e) => raw.push(String(e.data)));

    const ended = await post(`/api/rooms/${sessionId}/end`, {}, bearer(token));
    expect(ended.status).toBe(200);
    const end = (await body<{ end: { at: number; reason: string } }>(ended)).data.end;
    await expect.poll(() => raw.map(readRoomEvent).some((e) => e?.type === 'ended'), { timeout: 5_000 }).toBe(true);
    ws.close();

    // Nothing the object sent is unknown to the portals' schema.
    expect(raw.filter((m) => readRoomEvent(m) === null)).toEqual([]);
    const events = raw.map(readRoomEvent);
    expect(events[0]?.type).toBe('state');
    expect(events.find((e) => e?.type === 'ended')).toMatchObject({ type: 'ended', reason: 'client', endedAt: end.at, end: { at: end.at, reason: 'client' } });
  });

  it('leave out what is not an event this schema knows, instead of half-reading it', () => {
    expect(readRoomEvent('not json')).toBeNull();
    expect(readRoomEvent(JSON.stringify({ type: 'ended', reason: 'client', end: null }))).toBeNull(); // the old shape, without endedAt
    expect(readRoomEvent(JSON.stringify({ type: 'transcript', line: { id: 'x', text: 'hi' } }))).toBeNull();
    expect(readRoomEvent(JSON.stringify({ type: 'mute', muted: true, changedAt: 1 }))).toEqual({ type: 'mute', muted: true, changedAt: 1 });
  });
});
