import { APIStatusError, llm } from '@livekit/agents';
import * as openai from '@livekit/agents-plugin-openai';
import { describe, expect, it } from 'vitest';
import { useStandins } from '../helpers';

/** The real OpenAI plugin's chat() against the scripted chat-completions stand-in. */

const SYSTEM = 'You are a warm coach for vagus-nerve health. Never give medical advice.';

const standins = useStandins({
  chatScript: {
    rules: [
      { when: 'anxious', reply: 'That sounds hard. Shall we try a slow breath together?' },
      { when: /\bsleep\b/i, reply: (text) => `You said: ${text}` },
      { when: 'hurt myself', toolCalls: [{ name: 'flag_for_coach', arguments: { reason: 'crisis' } }] },
    ],
    defaultReply: 'Tell me more.',
  },
});

function model() {
  return new openai.LLM({ apiKey: 'offline', baseURL: standins().openaiBaseUrl, model: 'gpt-4o-mini' });
}

function context(...turns: Array<['system' | 'user' | 'assistant', string]>): llm.ChatContext {
  const ctx = llm.ChatContext.empty();
  for (const [role, content] of turns) ctx.addMessage({ role, content });
  return ctx;
}

/** Runs a chat and returns the streamed text, the number of content chunks, any usage and errors. */
async function chat(ctx: llm.ChatContext) {
  const lm = model();
  const errors: unknown[] = [];
  // The plugin reports a failed request as an 'error' event and ends the stream.
  lm.on('error', (e) => errors.push(e.error));
  const stream = lm.chat({ chatCtx: ctx, connOptions: { maxRetry: 0, retryIntervalMs: 0, timeoutMs: 5_000 } });
  let text = '';
  let chunks = 0;
  let usage: llm.CompletionUsage | undefined;
  for await (const chunk of stream) {
    if (chunk.delta?.content) {
      text += chunk.delta.content;
      chunks++;
    }
    usage ??= chunk.usage;
  }
  return { text, chunks, usage, errors };
}

describe('OpenAI chat stand-in with the real plugin', () => {
  it('streams the scripted reply to the last user message, token by token', async () => {
    const { text, chunks, usage } = await chat(context(['system', SYSTEM], ['user', 'I feel anxious today.']));

    expect(text).toBe('That sounds hard. Shall we try a slow breath together?');
    expect(chunks).toBeGreaterThan(5);
    expect(usage?.completionTokens).toBeGreaterThan(0);
  });

  it('records exactly what the model was shown', async () => {
    const before = standins().chat.requests.length;
    await chat(context(['system', SYSTEM], ['user', 'Hello.'], ['assistant', 'Hi, how are you?'], ['user', 'A bit tired.']));
    const request = standins().chat.requests[before]!;

    expect(request.path).toBe('/v1/chat/completions');
    expect(request.authorization).toBe('Bearer offline');
    expect(request.body.model).toBe('gpt-4o-mini');
    expect(request.body.stream).toBe(true);
    expect(request.body.stream_options).toEqual({ include_usage: true });
    expect(request.body.messages).toEqual([
      { role: 'system', content: SYSTEM },
      { role: 'user', content: 'Hello.' },
      { role: 'assistant', content: 'Hi, how are you?' },
      { role: 'user', content: 'A bit tired.' },
    ]);
    expect(request.reply).toBe('Tell me more.');
  });

  it('lets a rule compute its reply from the request', async () => {
    const { text } = await chat(context(['user', 'My sleep is poor.']));
    expect(text).toBe('You said: My sleep is poor.');
  });

  it('fails a request on demand with the status given', async () => {
    standins().chat.failNext(1, 503);
    const failed = await chat(context(['user', 'Hello?']));
    expect(failed.text).toBe('');
    expect(failed.errors).toHaveLength(1);
    expect(failed.errors[0]).toBeInstanceOf(APIStatusError);
    expect((failed.errors[0] as APIStatusError).statusCode).toBe(503);

    const next = await chat(context(['user', 'Hello?']));
    expect(next).toMatchObject({ text: 'Tell me more.', errors: [] });
  });

  it('answers the model list the plugin prewarms with', async () => {
    const res = await fetch(`${standins().openaiBaseUrl}/models`, { headers: { Authorization: 'Bearer offline' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: Array<{ id: string }> };
    expect(body.data.map((m) => m.id)).toContain('gpt-4o-mini');
    expect((await fetch(`${standins().openaiBaseUrl}/models`)).status).toBe(401);
  });

  it('holds back a matching answer until released, and marks a request its client gave up on', async () => {
    const until = async (what: () => boolean) => {
      while (!what()) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    const held = standins().chat.hold('anxious');
    const first = standins().chat.requests.length;
    let answered = '';
    const heldChat = chat(context(['user', 'I feel anxious today.'])).then((r) => {
      answered = r.text;
    });
    await until(() => standins().chat.requests.length > first);
    // A request that does not match is answered meanwhile; the held one still is not.
    expect((await chat(context(['user', 'Hello?']))).text).toBe('Tell me more.');
    expect(answered).toBe('');
    held.release();
    await heldChat;
    expect(answered).toBe('That sounds hard. Shall we try a slow breath together?');
    expect(standins().chat.requests[first]!.abandoned).toBeUndefined();

    const again = standins().chat.hold('anxious');
    const before = standins().chat.requests.length;
    const stream = model().chat({ chatCtx: context(['user', 'Still anxious.']), connOptions: { maxRetry: 0, retryIntervalMs: 0, timeoutMs: 5_000 } });
    const reading = (async () => {
      for await (const _ of stream);
    })();
    await until(() => standins().chat.requests.length > before);
    stream.close(); // as agents-js does with the reply an interruption drops
    await reading;
    await until(() => standins().chat.requests[before]!.abandoned === true);
    again.release();
  });

  it('streams a scripted tool call the plugin turns into a FunctionCall', async () => {
    const stream = model().chat({ chatCtx: context(['user', 'I want to hurt myself.']) });
    const calls: llm.FunctionCall[] = [];
    for await (const chunk of stream) calls.push(...(chunk.delta?.toolCalls ?? []));

    expect(calls).toHaveLength(1);
    expect(calls[0]!.name).toBe('flag_for_coach');
    expect(JSON.parse(calls[0]!.args)).toEqual({ reason: 'crisis' });
  });
});
