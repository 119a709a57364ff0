import { env, SELF } from 'cloudflare:test';
import { AgentContextReply, ControlAckReply, TranscriptReply } from '@hybrid-coach/shared/agent-contract';
import { signedHeaders } from '@hybrid-coach/shared/signing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bearer, body, createUser, post, signIn } from '../../test/helpers';

async function deliver(path: string, payload: unknown) {
  const raw = JSON.stringify(payload);
  return SELF.fetch(`http://api.test/api/webhooks/agent/${path}`, {
    method: 'POST',
    headers: await signedHeaders(env.AGENT_HOST_SECRET, raw, `k-${crypto.randomUUID()}`),
    body: raw,
  });
}

describe('the Worker reads the agent-host through the shared contract', () => {
  afterEach(() => vi.restoreAllMocks());

  it('refuses a transcript batch with a wrong field with 400 and a log line (never its text), then takes the next', async () => {
    const warnings: string[] = [];
    vi.spyOn(console, 'warn').mockImplementation((line: unknown) => void warnings.push(String(line)));
    const client = await createUser({ tier: 'PREMIUM' });
    const t = (await body<{ sessionId: string }>(await post('/api/rooms', {}, bearer(await signIn(client.email))))).data;
    const ref = { sessionId: t.sessionId, roomName: `session-${t.sessionId}` };
    const line = {
      idempotencyKey: `${t.sessionId}:client:1`,
      speakerIdentity: client.id,
      role: 'client',
      text: 'words only the transcript may hold',
      startedAt: 1_000,
      endedAt: 2_000,
      heardByAi: true,
    };

    const wrong = await deliver('transcript', { ...ref, lines: [{ ...line, heardByAi: 'yes' }] });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR', fields: { 'lines.0.heardByAi': expect.any(String) } } });
    expect(warnings.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'agent-host message refused: it does not match the contract',
        path: '/api/webhooks/agent/transcript',
        fields: { 'lines.0.heardByAi': expect.any(String) },
      }),
    );
    expect(warnings.join('\n')).not.toContain('words only the transcript may hold');

    const good = await deliver('transcript', { ...ref, lines: [line] });
    expect(good.status).toBe(200);
    expect(TranscriptReply.parse(await good.json()).data).toEqual({ stored: 1, duplicates: 0 });
  });

  it('answers the context and a control acknowledgement in the shapes the agent-host parses', async () => {
    const client = await createUser({ tier: 'VAGUS_MEMBER' });
    const t = (await body<{ sessionId: string }>(await post('/api/rooms', {}, bearer(await signIn(client.email))))).data;
    const ref = { sessionId: t.sessionId, roomName: `session-${t.sessionId}` };
    const context = AgentContextReply.parse(await (await deliver('context', ref)).json());
    expect(context.data).toMatchObject({ sessionId: t.sessionId, client: { id: client.id } });
    expect(ControlAckReply.safeParse(await (await deliver('control-ack', { ...ref, version: 0 })).json()).success).toBe(true);
  });
});
