import { describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../src/agent/config';

const base = {
  LIVEKIT_URL: 'ws://127.0.0.1:7880',
  LIVEKIT_API_KEY: 'devkey',
  LIVEKIT_API_SECRET: 'secret',
  API_URL: 'http://127.0.0.1:8787/',
  AGENT_HOST_SECRET: 's'.repeat(32),
};

describe('the AI coach configuration', () => {
  it('refuses to start without provider keys unless told to run offline, naming the variable', () => {
    expect(() => loadAgentConfig(base)).toThrow(/DEEPGRAM_API_KEY is required.*AI_PROVIDERS=standin/);
    expect(() => loadAgentConfig({ ...base, DEEPGRAM_API_KEY: 'dg' })).toThrow(/OPENAI_API_KEY is required/);
    expect(() => loadAgentConfig({ ...base, AI_PROVIDERS: 'standin' })).toThrow(/DEEPGRAM_BASE_URL is required/);
    expect(() => loadAgentConfig({ ...base, AI_PROVIDERS: 'mock' })).toThrow(/AI_PROVIDERS must be/);
  });

  it('uses the real services with keys, and the stand-ins offline', () => {
    const real = loadAgentConfig({ ...base, DEEPGRAM_API_KEY: 'dg', OPENAI_API_KEY: 'oa' });
    expect(real.providers).toEqual({ mode: 'real', deepgramApiKey: 'dg', openaiApiKey: 'oa' });
    expect(real).toMatchObject({ apiUrl: 'http://127.0.0.1:8787', llmModel: 'gpt-4o-mini', sttModel: 'flux-general-en', agentName: 'hybrid-coach-agent' });
    const offline = loadAgentConfig({ ...base, AI_PROVIDERS: 'standin', DEEPGRAM_BASE_URL: 'http://127.0.0.1:1', OPENAI_BASE_URL: 'http://127.0.0.1:2/v1' });
    expect(offline.providers).toEqual({ mode: 'standin', deepgramBaseUrl: 'http://127.0.0.1:1', openaiBaseUrl: 'http://127.0.0.1:2/v1' });
  });
});
