import { describe, expect, it } from 'vitest';
import { crisisMatch } from '../src/crisis';

describe('crisisMatch', () => {
  it.each([
    ['Sometimes I feel like I want to hurt myself.', 'hurt myself'],
    ['I have been having suicidal thoughts', 'suicidal'],
    ['I just want to end it all', 'end it all'],
    ['I thought about ending my life', 'ending my life'],
    ["I don't want to be here anymore", "don't want to be here anymore"],
    ['Everyone would be better off dead without me', 'better off dead'],
    ['I keep thinking about self-harm', 'self-harm'],
  ])('flags "%s"', (text, words) => {
    expect(crisisMatch(text)?.toLowerCase()).toBe(words.toLowerCase());
  });

  it.each([
    'I have been feeling anxious all week.',
    'My shoulders hurt after work',
    'I would like to sleep better.',
    'The meeting was killing me, so boring',
    'I want to end the day calmer',
  ])('leaves ordinary talk alone: "%s"', (text) => {
    expect(crisisMatch(text)).toBeNull();
  });
});
