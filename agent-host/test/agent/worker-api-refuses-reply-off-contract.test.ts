import type { AgentContext } from '@hybrid-coach/shared/agent-contract';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WorkerApi, WorkerApiError } from '../../src/agent/worker-api';
import { captureConsole } from '../helpers';

const SECRET = 'test-only-agent-host-secret-0123456789abcdef';
const REF = { sessionId: 's1', roomName: 'session-s1' };
const CONTEXT: AgentContext = {
  sessionId: 's1',
  status: 'ACTIVE',
  client: {
    id: 'c1',
    displayName: 'Sam',
    coachingGoals: null,
    symptoms: null,
    initialMood: null,
    facts: [],
    challenges: [],
    lastSummary: null,
    coachNotes: [],
  },
  coach: null,
  control: { muted: false, version: 0 },
  capMinutes: 30,
  history: [{ role: 'client', kind: 'speech', speakerName: 'Sam', text: 'words only the transcript may hold', at: 1 }],
};

/** A Worker stand-in answering each call with the next of `answers` (200, JSON). */
function workerAnswering(...answers: unknown[]) {
  const calls: string[] = [];
  const fetchImpl = (async (url: string | URL | Request) => {
    calls.push(String(url));
    return new Response(JSON.stringify(answers.shift()), { status: 200, headers: { 'Content-Type': 'application/json' } });
  }) as typeof fetch;
  return { api: new WorkerApi('http://worker.test', SECRET, fetchImpl), calls };
}

describe("the agent reads the Worker's answers through the contract", () => {
  afterEach(() => vi.restoreAllMocks());

  it('refuses a context with a wrong field, logs where (never the transcript), and takes the next good one', async () => {
    const warnings = captureConsole('warn');
    const { api, calls } = workerAnswering({ success: true, data: { ...CONTEXT, status: 'FINISHED' } }, { success: true, data: CONTEXT });

    const refused = api.context(REF);
    await expect(refused).rejects.toBeInstanceOf(WorkerApiError);
    await expect(refused).rejects.toThrow(/off the contract/);
    // Not retried: the Worker would answer the same.
    expect(calls).toHaveLength(1);
    expect(warnings.logged("agent: the Worker's answer does not match the contract; refused")).toContainEqual(
      expect.objectContaining({ level: 'warn', path: '/api/webhooks/agent/context', fields: { 'data.status': expect.any(String) } }),
    );
    expect(warnings.lines().join('\n')).not.toContain('words only the transcript may hold');

    expect(await api.context(REF)).toEqual(CONTEXT);
  });

  it('refuses a control acknowledgement answer that is not JSON', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { api } = workerAnswering(undefined);
    await expect(api.ackControl(REF, 3)).rejects.toThrow(/off the contract/);
  });
});
