import { describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../src/agent/config';
import { LOAD_THRESHOLD, roomLoad } from '../../src/agent/load';

/** livekit-server 1.13.5's score for a worker (pkg/service/agentservice.go): 0 means it gets no job. */
const score = (load: number) => Math.max(0, 0.7 - load);

describe('the load the agent-host reports', () => {
  it('keeps the worker eligible for jobs until it holds its maximum rooms, whatever the CPU does', () => {
    for (let rooms = 0; rooms < 10; rooms++) expect(score(roomLoad(rooms, 10))).toBeGreaterThan(0);
    expect(roomLoad(10, 10)).toBeGreaterThanOrEqual(LOAD_THRESHOLD);
    expect(score(roomLoad(10, 10))).toBe(0);
    expect(roomLoad(25, 10)).toBe(1);
  });

  it('reads AGENT_MAX_ROOMS (10 by default) and refuses what is not a number of rooms', () => {
    const base = {
      LIVEKIT_URL: 'ws://x',
      LIVEKIT_API_KEY: 'k',
      LIVEKIT_API_SECRET: 's',
      API_URL: 'http://api',
      AGENT_HOST_SECRET: 'x'.repeat(32),
      AI_PROVIDERS: 'standin',
      DEEPGRAM_BASE_URL: 'http://d',
      OPENAI_BASE_URL: 'http://o',
    };
    expect(loadAgentConfig(base).maxRooms).toBe(10);
    expect(loadAgentConfig({ ...base, AGENT_MAX_ROOMS: '3' }).maxRooms).toBe(3);
    expect(() => loadAgentConfig({ ...base, AGENT_MAX_ROOMS: '0' })).toThrow(/AGENT_MAX_ROOMS must be a number of rooms/);
  });
});
