/**
 * What the offline AI understands and says when no API keys are set (`npm run dev`): the speech
 * stand-in recognises only these sentences as espeak-ng speaks them (en-us, default speed: e.g. a
 * browser's fake microphone playing `espeak-ng -w phrase.wav "<sentence>"`), and the model stand-in
 * answers from these rules. Real speech from a real microphone is heard as silence offline.
 */
import { type ChatScript, type Standins, startStandins } from './standins';

/**
 * A coach in a three-way call (`src/agent/three-way.ts`), with the dev seed's Premium client, Parker:
 * requests the AI answers (by what is asked, and by its name), and a question to the client it leaves
 * to them.
 */
export const COACH_ASKS_AI = 'Could you lead Parker through a slow exhale?';
export const COACH_ASKS_AI_BY_NAME = 'AI, could you suggest a stretch for Parker?';
export const COACH_ASKS_CLIENT = 'Parker, how did your week go?';
/** The AI's answer to {@link COACH_ASKS_AI}. */
export const AI_LEADS_EXHALE = 'Of course. Parker, breathe in gently for four, and let it out slowly for six.';
/** The AI's answer to {@link COACH_ASKS_AI_BY_NAME}. */
export const AI_SUGGESTS_STRETCH = 'Of course. Parker, roll your shoulders back slowly, three times.';

export const OFFLINE_PHRASES = [
  'I have been feeling anxious all week.',
  'My shoulders are always tense.',
  'I would like to sleep better.',
  'Let us try a slow breathing exercise together.',
  'Thank you, that helped.',
  COACH_ASKS_AI,
  COACH_ASKS_AI_BY_NAME,
  COACH_ASKS_CLIENT,
];

export const OFFLINE_CHAT: ChatScript = {
  rules: [
    { when: 'anxious', reply: 'That sounds hard. Shall we breathe together for a moment? Breathe in for four, and out for six.' },
    { when: 'tense', reply: 'Let us release them gently. Lift your shoulders to your ears, hold, and let them drop with a long sigh.' },
    { when: 'sleep', reply: 'A slow exhale before bed can calm the nervous system. Would you like to try humming together?' },
    { when: 'helped', reply: 'I am glad. Notice how your body feels right now.' },
    { when: 'slow exhale', reply: AI_LEADS_EXHALE },
    { when: 'a stretch', reply: AI_SUGGESTS_STRETCH },
  ],
  defaultReply: 'I am here with you. Tell me more about how that feels in your body.',
};

/** The stand-ins as `npm run dev` runs them: they understand the sentences above. */
export function startOfflineStandins(): Promise<Standins> {
  return startStandins({ sttPhrases: OFFLINE_PHRASES, chatScript: OFFLINE_CHAT });
}
