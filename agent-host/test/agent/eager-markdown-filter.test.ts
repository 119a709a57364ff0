import { ReadableStream, type ReadableStreamDefaultController } from 'node:stream/web';
import { voice } from '@livekit/agents';
import { describe, expect, it } from 'vitest';
import { openAiTokens } from '../../dev/standins/openai-chat';
import { eagerMarkdownFilter } from '../../src/agent/eager-markdown-filter';
import { EagerSentenceTokenizer } from '../../src/agent/eager-sentences';

type Transforms = readonly voice.textTransforms.TextTransform[];

/** agents-js's default `ttsTextTransforms`, and the agent's (job.ts). */
const DEFAULT: Transforms = ['filter_markdown', 'filter_emoji'];
const EAGER: Transforms = [eagerMarkdownFilter(), 'filter_emoji'];

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

/**
 * `pieces` streamed through agents-js's own `applyTextTransforms` one at a time, read as the voice reads
 * them (into the voice's sentence tokenizer): what had left the transforms, and which sentences the
 * voice's tokenizer had released, after each piece.
 */
async function through(transforms: Transforms, pieces: string[]) {
  let input!: ReadableStreamDefaultController<string>;
  const source = new ReadableStream<string>({
    start(controller) {
      input = controller;
    },
  });
  const sentences = new EagerSentenceTokenizer().stream();
  const chunks: string[] = [];
  const released: string[] = [];
  const reading = (async () => {
    for await (const chunk of voice.textTransforms.applyTextTransforms(source, transforms)) {
      chunks.push(chunk);
      sentences.pushText(chunk);
    }
    sentences.endInput();
  })();
  const tokens = (async () => {
    for await (const t of sentences) released.push(t.token);
  })();
  const after: Array<{ piece: string; text: string; sentences: string[] }> = [];
  for (const piece of pieces) {
    input.enqueue(piece);
    await settle();
    after.push({ piece, text: chunks.join(''), sentences: [...released] });
  }
  input.close();
  await reading;
  await tokens;
  return { after, text: chunks.join(''), sentences: released };
}

/** Replies to compare with the filter alone, with and without markdown and with the cases the voice's tokenizer holds. */
const REPLIES = [
  "That makes sense. Let's take one slow breath together.",
  'How did you sleep last night? Tell me more.',
  'That is wonderful news! Keep it up.',
  'Try saying "I am safe." Then breathe out.',
  'It costs 3.5 dollars. That is fine.',
  'Dr. Smith said so. Mr. Jones agreed.',
  'We went to the U.S. last year. It was fun.',
  'Wait... let me think. Okay.',
  'That makes sense.\n\nLet us try one thing.\nBreathe in.',
  'That makes sense (for now.) Go on.',
  '(Take a slow breath. Then go on.) Good.',
  'He said "stop. Now." Then he left.',
  '**Great.** Keep going.',
  'Great job. **Keep going.** You can.',
  'That is _really_ good. Well done.',
  '- First step.\n- Second step.\n',
  '# Plan\nBreathe in. Breathe out.',
  'Read [this page.](https://example.com/a) Then rest.',
  'Type `stop.` to end. Or not.',
  'That is ~~wrong~~ right. Yes.',
  '---\nThat makes sense. Go on.',
  'Great news. 🎉 Keep it up!',
  'Good\uFF1Bnext. Then more.',
  'That makes sense. ',
  'No punctuation at the end',
  'Okay.',
];

describe("the voice's markdown filter", () => {
  it('lets the first sentence go with its period, where the filter alone holds the period for the next token', async () => {
    const reply = "That makes sense. Let's take one slow breath together.";
    const pieces = openAiTokens(reply);
    const eager = await through(EAGER, pieces);
    const plain = await through(DEFAULT, pieces);
    expect(eager.after[3]).toEqual({ piece: '.', text: 'That makes sense.', sentences: ['That makes sense.'] });
    expect(plain.after[3]).toEqual({ piece: '.', text: 'That makes sense', sentences: [] });
    expect(plain.after[4]).toEqual({ piece: ' Let', text: 'That makes sense.', sentences: ['That makes sense.'] });
    expect(eager.text).toBe(reply);
    expect(eager.sentences).toEqual(plain.sentences);
  });

  it('releases a question and a closing quote with their last token', async () => {
    for (const [reply, first] of [
      ['How did you sleep last night? Tell me more.', 'How did you sleep last night?'],
      ['Try saying "I am safe." Then breathe out.', 'Try saying "I am safe."'],
    ] as const) {
      const pieces = openAiTokens(reply);
      const end = pieces.findIndex((p) => /[.!?]"?$/.test(p));
      const { after } = await through(EAGER, pieces);
      expect(after[end]?.text, reply).toBe(first);
      expect((await through(DEFAULT, pieces)).after[end]?.text, reply).not.toBe(first);
    }
  });

  it('gives the voice exactly what the filter alone gives, with and without markdown, however the reply is cut', async () => {
    for (const reply of REPLIES) {
      for (const pieces of [openAiTokens(reply), [...reply], [reply]]) {
        const eager = await through(EAGER, pieces);
        const plain = await through(DEFAULT, pieces);
        expect(eager.text, JSON.stringify(pieces)).toBe(plain.text);
        expect(eager.sentences, JSON.stringify(pieces)).toEqual(plain.sentences);
        // and never later: after each piece, at least what the filter alone had passed on
        eager.after.forEach((e, i) => {
          expect(e.text.startsWith(plain.after[i]?.text ?? ''), JSON.stringify(pieces.slice(0, i + 1))).toBe(true);
          expect(e.sentences.length).toBeGreaterThanOrEqual(plain.after[i]?.sentences.length ?? 0);
        });
      }
    }
  });

  it('still strips markdown around a period, and keeps plain text exactly as the model wrote it', async () => {
    expect((await through(EAGER, openAiTokens('**Great.** Keep going.'))).text).toBe('Great. Keep going.');
    expect((await through(EAGER, openAiTokens('Great job. **Keep going.** You can.'))).text).toBe('Great job. Keep going. You can.');
    expect((await through(EAGER, openAiTokens('Read [this page.](https://example.com/a) Then rest.'))).text).toBe('Read this page. Then rest.');
    for (const reply of ['Okay.', 'That makes sense.', 'That makes sense.\n\nLet us try one thing.', 'Good\uFF1Bnext. Then more.']) {
      expect((await through(EAGER, openAiTokens(reply))).text).toBe(reply);
    }
  });

  it('holds what the next token may continue: a number, an open quote or bracket, an abbreviation, "!" (the filter\'s own hold: "![" begins an image)', async () => {
    for (const [reply, at] of [
      ['That is wonderful news! Keep it up.', 4],
      ['It costs 3.5 dollars. That is fine.', 3],
      ['He said "stop. Now." Then he left.', 4],
      ['(Take a slow breath. Then go on.) Good.', 5],
      ['Dr. Smith said so. Mr. Jones agreed.', 1],
    ] as const) {
      const pieces = openAiTokens(reply);
      expect(pieces[at], reply).toMatch(/^[.!]$/);
      const eager = await through(EAGER, pieces);
      const plain = await through(DEFAULT, pieces);
      expect(eager.after[at]?.text, reply).toBe(plain.after[at]?.text);
    }
  });
});
