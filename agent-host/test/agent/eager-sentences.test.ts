import { tokenize } from '@livekit/agents';
import { describe, expect, it } from 'vitest';
import { openAiTokens } from '../../dev/standins/openai-chat';
import { EagerSentenceTokenizer, VOICE_MIN_SENTENCE_LENGTH } from '../../src/agent/eager-sentences';

type Token = { token: string; segmentId: string };

/** The stream the Deepgram plugin would use: the basic one with the plugin's minimum sentence length. */
const basicTokenizer = () => new tokenize.basic.SentenceTokenizer({ minSentenceLength: VOICE_MIN_SENTENCE_LENGTH });

/** A stream read as the plugin reads it, in the background; `released()` waits for what is ready now. */
function reading(stream: tokenize.SentenceStream) {
  const out: Token[] = [];
  const done = (async () => {
    for await (const t of stream) out.push(t);
  })();
  return {
    stream,
    out,
    async released(): Promise<string[]> {
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      return out.map((t) => t.token);
    },
    async end(): Promise<Token[]> {
      stream.endInput();
      await done;
      return out;
    },
  };
}

/** What each stream has released after each piece, the eager one and the basic one side by side. */
async function releases(pieces: string[]) {
  const eager = reading(new EagerSentenceTokenizer().stream());
  const basic = reading(basicTokenizer().stream());
  const after: Array<{ piece: string; eager: string[]; basic: string[] }> = [];
  for (const piece of pieces) {
    eager.stream.pushText(piece);
    basic.stream.pushText(piece);
    after.push({ piece, eager: await eager.released(), basic: await basic.released() });
  }
  return { after, eager: (await eager.end()).map((t) => t.token), basic: (await basic.end()).map((t) => t.token) };
}

/** A reply cut as OpenAI streams it (and the chat stand-in with it): words with their leading space, punctuation and digits on their own. */
const openAiPieces = openAiTokens;
/** The same reply cut another way: words with their trailing space. */
const standinPieces = (text: string) => text.match(/\S+\s*|\s+/g) ?? [];

describe("the voice's sentence tokenizer", () => {
  it('uses the Deepgram plugin’s minimum sentence length', () => {
    expect(VOICE_MIN_SENTENCE_LENGTH).toBe(8);
  });

  it('releases the first sentence with its period, before the next sentence has begun', async () => {
    const { after, eager, basic } = await releases(openAiPieces("That makes sense. Let's take one slow breath together."));
    expect(after.map((a) => a.piece)).toEqual(['That', ' makes', ' sense', '.', ' Let', "'s", ' take', ' one', ' slow', ' breath', ' together', '.']);
    expect(after[2]).toMatchObject({ eager: [], basic: [] });
    expect(after[3]).toMatchObject({ piece: '.', eager: ['That makes sense.'], basic: [] });
    expect(after[4]).toMatchObject({ piece: ' Let', eager: ['That makes sense.'], basic: ['That makes sense.'] });
    expect(after.at(-1)).toMatchObject({ eager: ['That makes sense.', "Let's take one slow breath together."], basic: ['That makes sense.'] });
    expect(eager).toEqual(basic);
  });

  it('releases a question or an exclamation, and a sentence ending in a closing quote, at once', async () => {
    for (const [text, first] of [
      ['How did you sleep last night? Tell me more.', 'How did you sleep last night?'],
      ['That is wonderful news! Keep it up.', 'That is wonderful news!'],
      ['Try saying "I am safe." Then breathe out.', 'Try saying "I am safe".'],
    ] as const) {
      const pieces = openAiPieces(text);
      const end = pieces.findIndex((p) => /[.!?]"?$/.test(p));
      const { after, eager, basic } = await releases(pieces);
      expect(after[end]?.eager, text).toEqual([first]);
      expect(after[end - 1]?.eager, text).toEqual([]);
      expect(eager, text).toEqual(basic);
    }
  });

  it('keeps a number whole: "It costs 3." then "5 dollars." is one sentence', async () => {
    const { after, eager, basic } = await releases(['It', ' costs', ' 3', '.', '5', ' dollars', '.', ' Pay', ' later', '.']);
    expect(after[3]).toMatchObject({ piece: '.', eager: [] });
    expect(after[6]).toMatchObject({ piece: '.', eager: ['It costs 3.5 dollars.'] });
    expect(eager).toEqual(['It costs 3.5 dollars.', 'Pay later.']);
    expect(eager).toEqual(basic);
  });

  it('does not split after a title, an initial, an acronym, an abbreviation or an ellipsis', async () => {
    for (const [pieces, held] of [
      [['Please', ' call', ' Dr', '.', ' Lee', ' today', '.'], 3],
      [['Please', ' ask', ' Mrs', '.', ' Lee', ' today', '.'], 3],
      [['Thanks', ' to', ' J', '.', ' Smith', ' for', ' that', '.'], 3],
      [['We', ' moved', ' to', ' the', ' U', '.S', '.', ' last', ' year', '.'], 6],
      [['She', ' works', ' at', ' Acme', ' Inc', '.', ' these', ' days', '.'], 5],
      [['Try', ' a', ' walk', ',', ' e', '.g', '.', ' after', ' lunch', '.'], 6],
      [['Well', '...', ' let', "'s", ' see', ' what', ' helps', '.'], 1],
    ] as const) {
      const { after, eager, basic } = await releases([...pieces]);
      expect(after[held]?.eager, pieces.join('')).toEqual([]);
      expect(eager, pieces.join('')).toEqual(basic);
      expect(eager, pieces.join('')).toHaveLength(1);
    }
  });

  it('holds a period inside an open quote or bracket, where the closing one may follow it', async () => {
    for (const pieces of [
      ['She', ' said', ' "', 'rest', ' now', '.', '"', ' Then', ' stop', '.'],
      ['Breathe', ' out', ' (', 'slowly', ' please', '.', ')', ' Then', ' stop', '.'],
    ]) {
      const { after, eager, basic } = await releases(pieces);
      expect(after[5]?.eager, pieces.join('')).toEqual([]);
      expect(eager, pieces.join('')).toEqual(basic);
    }
  });

  it('merges a short first sentence with the next, as the basic one does', async () => {
    const { after, eager, basic } = await releases(['Got', ' it', '.', ' That', ' makes', ' sense', '.', ' Okay', '.']);
    expect(after[2]).toMatchObject({ piece: '.', eager: [] });
    expect(after[6]).toMatchObject({ piece: '.', eager: ['Got it. That makes sense.'] });
    expect(eager).toEqual(['Got it. That makes sense.', 'Okay.']);
    expect(eager).toEqual(basic);
  });

  it('flushes like the basic stream: what it holds goes out, and the next text is a new segment', async () => {
    const run = async (tokenizer: tokenize.SentenceTokenizer) => {
      const r = reading(tokenizer.stream());
      for (const piece of ['That', ' makes', ' sense', '.', ' Let', "'s"]) r.stream.pushText(piece);
      r.stream.flush();
      r.stream.flush();
      for (const piece of ['Breathe', ' in', ' slowly', '.']) r.stream.pushText(piece);
      const tokens = await r.end();
      expect(() => r.stream.pushText('more')).toThrow('Stream is closed');
      expect(() => r.stream.flush()).toThrow('Stream is closed');
      expect(() => r.stream.endInput()).toThrow('Stream is closed');
      return { tokens: tokens.map((t) => t.token), segments: tokens.map((t) => tokens.findIndex((u) => u.segmentId === t.segmentId)) };
    };
    const eager = await run(new EagerSentenceTokenizer());
    expect(eager).toEqual({ tokens: ['That makes sense.', "Let's", 'Breathe in slowly.'], segments: [0, 0, 2] });
    expect(eager).toEqual(await run(basicTokenizer()));
  });

  it('gives back what it was given when closed right after endInput, as the plugin does', async () => {
    const stream = new EagerSentenceTokenizer().stream();
    for (const piece of openAiPieces('That makes sense. Let us take one slow breath')) stream.pushText(piece);
    stream.endInput();
    stream.close();
    const tokens: string[] = [];
    for await (const t of stream) tokens.push(t.token);
    expect(tokens).toEqual(['That makes sense.', 'Let us take one slow breath']);
  });

  it('sends the voice the same sentences as the basic tokenizer for realistic coach replies', async () => {
    const replies = [
      "That makes sense. Let's take one slow breath together. In through your nose for 4 seconds, and out for 6.",
      'Hi. How are you feeling today? Anything on your mind?',
      "Okay! I hear you. Work has been a lot lately, hasn't it?",
      'Try the 4-7-8 method: breathe in for 4, hold for 7, out for 8. It takes about 1.5 minutes.',
      'Dr. Patel mentioned sleep hygiene, e.g. no screens after 10 p.m. Does that sound doable?',
      'You said "I never rest." What would rest look like for you?',
      'Well... that is a lot to carry. Maybe we start small.',
      'Let me ask you something (and take your time). What helps you unwind?',
      'Good. Now drop your shoulders. Relax your jaw. Notice the breath.',
      'In the U.S. about one in three adults sleeps too little. You are not alone.',
      'Great job!! You did it. See you next week, Riley.',
      'Step 1. Sit comfortably. Step 2. Close your eyes.',
    ];
    for (const reply of replies) {
      for (const pieces of [openAiPieces(reply), standinPieces(reply)]) {
        expect(pieces.join('')).toBe(reply);
        const { eager, basic } = await releases(pieces);
        expect(eager, reply).toEqual(basic);
        expect(eager.join(' '), reply).toBe(basic.join(' '));
      }
    }
  });
});
