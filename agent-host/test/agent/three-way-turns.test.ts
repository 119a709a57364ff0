import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AgentState, CLIENT_TURN_PENDING_MS, type CoachDecision, ThreeWayTurns, type UserState } from '../../src/agent/three-way';

const TO_AI = 'Could you lead Riley through a slow exhale?';
const TO_CLIENT = 'Riley, how did your week go?';

type Step = { user: UserState } | { agent: AgentState } | { coach: string; muted?: boolean; expect: CoachDecision } | { wait: number };

/**
 * Replays session events and coach lines; answers what the AI was asked to do, in order: `reply`,
 * `replace`, and `withdraw` (a reply to the coach dropped before it was heard).
 */
function replay(steps: Step[]): string[] {
  const asked: string[] = [];
  const turns = new ThreeWayTurns('Riley Rivers', {
    reply: () => asked.push('reply'),
    replace: () => asked.push('replace'),
    withdraw: () => asked.push('withdraw') > 0,
  });
  for (const step of steps) {
    if ('user' in step) turns.userState(step.user);
    else if ('agent' in step) turns.agentState(step.agent);
    else if ('wait' in step) vi.advanceTimersByTime(step.wait);
    else expect(turns.coachLine(step.coach, !step.muted), step.coach).toBe(step.expect);
  }
  turns.close();
  return asked;
}

describe('when the AI answers the coach in a three-way call', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const cases: Array<[string, Step[], string[]]> = [
    ['answers a coach who speaks to it', [{ agent: 'listening' }, { coach: TO_AI, expect: 'reply' }], ['reply']],
    [
      'answers after what it is saying now',
      [{ agent: 'speaking' }, { coach: TO_AI, expect: 'reply' }],
      ['reply'], // queued by the session behind the speech under way
    ],
    ['stays silent when the coach speaks to the client', [{ agent: 'listening' }, { coach: TO_CLIENT, expect: 'context' }, { wait: 10_000 }], []],
    [
      'never answers a muted coach, even one who speaks to it',
      [{ agent: 'listening' }, { coach: TO_AI, muted: true, expect: 'not-heard' }, { wait: 10_000 }],
      [],
    ],
    [
      'lets the client speak first: a request made while the client speaks is answered by the reply to the client',
      [
        { agent: 'listening' },
        { user: 'speaking' },
        { coach: TO_AI, expect: 'with-client' },
        { user: 'listening' },
        { wait: 800 },
        { agent: 'thinking' },
        { wait: 10_000 },
      ],
      [],
    ],
    [
      'client then coach in a row, before the reply to the client begins: one reply, the client’s, which sees both',
      [
        { agent: 'listening' },
        { user: 'speaking' },
        { wait: 1_500 },
        { user: 'listening' },
        { coach: TO_AI, expect: 'with-client' },
        { agent: 'thinking' },
        { wait: 10_000 },
      ],
      [],
    ],
    [
      'client then coach in a row: the reply being prepared for the client gives way to one that sees both',
      [{ agent: 'listening' }, { user: 'speaking' }, { user: 'listening' }, { agent: 'thinking' }, { coach: TO_AI, expect: 'replace' }],
      ['replace'],
    ],
    [
      'coach then client in a row: the client who speaks before the reply to the coach is heard withdraws it, and the client’s reply answers both',
      [
        { agent: 'listening' },
        { coach: TO_AI, expect: 'reply' },
        { agent: 'thinking' }, // the reply to the coach is being prepared
        { user: 'speaking' },
        { agent: 'listening' }, // withdrawn
        { wait: 1_500 },
        { user: 'listening' },
        { wait: 800 },
        { agent: 'thinking' }, // the reply to the client's turn, with the coach's request in view
        { agent: 'speaking' },
        { wait: 10_000 },
      ],
      ['reply', 'withdraw'],
    ],
    [
      '… also when the reply to the coach waits behind what the AI is saying',
      [
        { agent: 'speaking' },
        { coach: TO_AI, expect: 'reply' },
        { agent: 'listening' },
        { agent: 'thinking' },
        { user: 'speaking' },
        { user: 'listening' },
        { agent: 'thinking' },
        { wait: 10_000 },
      ],
      ['reply', 'withdraw'],
    ],
    [
      '… and answers the coach after all when the client’s sound brought no reply',
      [
        { agent: 'listening' },
        { coach: TO_AI, expect: 'reply' },
        { agent: 'thinking' },
        { user: 'speaking' },
        { agent: 'listening' },
        { user: 'listening' },
        { wait: CLIENT_TURN_PENDING_MS },
      ],
      ['reply', 'withdraw', 'reply'],
    ],
    [
      'does not withdraw a reply to the coach once it is heard (the client’s turn interrupts it, as any barge-in)',
      [{ agent: 'listening' }, { coach: TO_AI, expect: 'reply' }, { agent: 'thinking' }, { agent: 'speaking' }, { user: 'speaking' }, { wait: 10_000 }],
      ['reply'],
    ],
    [
      '… nor one the AI has finished',
      [
        { agent: 'listening' },
        { coach: TO_AI, expect: 'reply' },
        { agent: 'thinking' },
        { agent: 'speaking' },
        { agent: 'listening' },
        { user: 'speaking' },
        { wait: 10_000 },
      ],
      ['reply'],
    ],
    [
      'answers a held request itself when the client’s sound brought no reply',
      [
        { agent: 'listening' },
        { user: 'speaking' },
        { coach: TO_AI, expect: 'with-client' },
        { wait: 5_000 },
        { user: 'listening' },
        { wait: CLIENT_TURN_PENDING_MS - 1 },
      ],
      [],
    ],
    [
      '… once the client has been quiet long enough',
      [{ agent: 'listening' }, { user: 'speaking' }, { coach: TO_AI, expect: 'with-client' }, { user: 'listening' }, { wait: CLIENT_TURN_PENDING_MS }],
      ['reply'],
    ],
    [
      'a client turn long over does not hold the coach',
      [{ agent: 'listening' }, { user: 'speaking' }, { user: 'listening' }, { wait: CLIENT_TURN_PENDING_MS }, { coach: TO_AI, expect: 'reply' }],
      ['reply'],
    ],
  ];
  it.each(cases)('%s', (_name, steps, asked) => {
    expect(replay(steps)).toEqual(asked);
  });
});
