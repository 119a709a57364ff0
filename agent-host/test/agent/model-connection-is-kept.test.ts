import { llm } from '@livekit/agents';
import * as openai from '@livekit/agents-plugin-openai';
import { describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../src/agent/config';
import { createEngines, MODEL_KEEP_ALIVE_MS } from '../../src/agent/providers';
import { standinAgentEnv, useStandins } from '../helpers';

/**
 * The agent's model requests share one connection across a conversation's pauses (providers.ts
 * MODEL_KEEP_ALIVE_MS): against OpenAI a new connection is a TCP and a TLS handshake before the request
 * goes out, on every reply. The stand-in keeps idle connections as an HTTPS edge does (minutes), so the
 * client's own keep-alive decides; it numbers the connections its requests came on.
 */

/** Longer than Node's fetch keeps an idle connection (undici's 4 s), shorter than a conversation's pauses. */
const PAUSE_MS = 4_500;

const standins = useStandins();

/** Asks `model` three times, PAUSE_MS apart, as `who`; answers the connections the three requests came on. */
async function threeTurns(model: llm.LLM, who: string): Promise<number[]> {
  for (let turn = 0; turn < 3; turn++) {
    if (turn > 0) await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    const chatCtx = llm.ChatContext.empty();
    chatCtx.addMessage({ role: 'user', content: `${who}: I have been feeling anxious all week (${turn}).` });
    const reply = await model.chat({ chatCtx }).collect();
    expect(reply.text.length).toBeGreaterThan(0);
  }
  const asked = standins().chat.requests.filter((r) => JSON.stringify(r.body.messages).includes(`${who}:`));
  expect(asked).toHaveLength(3);
  return asked.map((r) => r.connection);
}

describe("the agent's connection to the model", () => {
  it(`stays open across a conversation's pauses: three replies ${PAUSE_MS / 1000} s apart, one connection (the plugin's own client: three)`, async () => {
    expect(MODEL_KEEP_ALIVE_MS).toBeGreaterThan(PAUSE_MS);
    const env = standinAgentEnv(standins());
    const [agents, plugins] = await Promise.all([
      threeTurns(createEngines(loadAgentConfig(env)).llm, 'agent'),
      threeTurns(new openai.LLM({ apiKey: 'standin', baseURL: standins().openaiBaseUrl, model: 'gpt-4o-mini' }), 'plugin'),
    ]);
    expect(new Set(agents).size).toBe(1);
    // Node's fetch, as the plugin's default client uses it, closes the connection in each pause.
    expect(new Set(plugins).size).toBe(3);
  });
});
