import { describe, expect, it } from 'vitest';
import { type Addressee, addresseeOf } from '../../src/agent/three-way';

const CLIENT = 'Riley Rivers';

describe('whom a coach’s line is for', () => {
  const cases: Array<[string, Addressee]> = [
    // The AI, named.
    ['AI, could you lead Riley through a slow exhale?', 'ai'],
    ['Hey AI, what would you suggest for her shoulders?', 'ai'],
    ['What do you think, AI?', 'ai'],
    ['A.I., can you take us through a body scan?', 'ai'],
    ['I would like the AI to lead a humming exercise.', 'ai'],
    // A request about the client in the third person: for the AI.
    ['Could you lead Riley through a slow exhale?', 'ai'],
    ['Please help Riley relax her jaw.', 'ai'],
    ['Can you remind Riley of the breathing we did last week?', 'ai'],
    // The client, called by name.
    ['Riley, how did your week go?', 'client'],
    ['Hey Riley, could you try that once more?', 'client'],
    ['How are you feeling today, Riley?', 'client'],
    ['Tell me, Riley, what helped most?', 'client'],
    ['riley could you breathe with me', 'client'],
    // Nobody named: the coach talks with the client, and the AI listens.
    ['Let us try a slow breathing exercise together.', 'client'],
    ['Could you try that again?', 'client'],
    ['I think she is close to a breakthrough today.', 'client'],
    ['Riley told me she slept better.', 'client'],
    ['', 'client'],
  ];
  it.each(cases)('%j is for the %s', (text, addressee) => {
    expect(addresseeOf(text, CLIENT)).toBe(addressee);
  });

  it('reads the client’s first name from their display name, in any case', () => {
    expect(addresseeOf('PARKER, how was your week?', 'parker premium')).toBe('client');
    expect(addresseeOf('Could you lead Parker through a slow exhale?', 'Parker Premium')).toBe('ai');
    // Another client's name is not this client's.
    expect(addresseeOf('Parker, how was your week?', CLIENT)).toBe('client');
    expect(addresseeOf('Could you lead Parker through a slow exhale?', CLIENT)).toBe('client');
  });
});
