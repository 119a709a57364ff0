/**
 * The voice's sentence tokenizer: agents-js's `tokenize.basic.SentenceTokenizer`, except that a sentence
 * goes to the voice as soon as its final punctuation has arrived, not once the model has begun the next
 * one (the basic stream emits a sentence only when its buffer splits into two, i.e. one model token
 * later, ~16–20 ms on every reply's first audio).
 */

import { shortuuid, tokenize } from '@livekit/agents';

/** The Deepgram TTS plugin's own `MIN_SENTENCE_LENGTH` (agents-plugin-deepgram dist/tts.js), not exported there. */
export const VOICE_MIN_SENTENCE_LENGTH = 8;

/** A word put after the buffered text to ask the basic splitter whether it would end a sentence there. */
const PROBE = 'x';

/** Sentence-final punctuation the basic splitter stops at (it moves a closing `"` / `”` before the period itself). */
const SENTENCE_END = /(?:[.!?]"?|\.”)$/;

/**
 * Whether `text` (what the voice's stream holds) ends a sentence that nothing the model sends next can
 * continue, so the basic splitter would emit exactly this text as its next sentence once the next word
 * arrived. The basic splitter is asked itself (it keeps Mr. Dr. St. Inc. Jr. …, single letters and
 * initials, "U.S.", "e.g.", "..." and too short sentences together with what follows); what only the
 * next token can tell is held: a number ("3." may be "3.5") and an open quote or bracket (the closing
 * one may follow the period without a space, which the basic splitter does not split after).
 */
export function endsSentence(basic: tokenize.SentenceTokenizer, text: string): boolean {
  const tail = text.trimEnd();
  if (!SENTENCE_END.test(tail) || /\d\.$/.test(tail)) return false;
  const count = (c: string) => tail.split(c).length - 1;
  if (count('"') % 2 === 1 || count('“') > count('”') || count('(') > count(')') || count('[') > count(']')) return false;
  return basic.tokenize(`${tail} ${PROBE}`).at(-1) === PROBE;
}

type Options = { minSentenceLength?: number; streamContextLength?: number };

/** `tokenize.basic.SentenceTokenizer` with the same options (minSentenceLength the plugin's by default), whose stream releases a finished sentence at once. */
export class EagerSentenceTokenizer extends tokenize.SentenceTokenizer {
  readonly #basic: tokenize.basic.SentenceTokenizer;

  constructor(options: Options = {}) {
    super();
    this.#basic = new tokenize.basic.SentenceTokenizer({ minSentenceLength: VOICE_MIN_SENTENCE_LENGTH, ...options });
  }

  tokenize(text: string, language?: string): string[] {
    return this.#basic.tokenize(text, language);
  }

  stream(): tokenize.SentenceStream {
    return new EagerSentenceStream(this.#basic);
  }
}

/**
 * A chain of basic sentence streams: text goes to the last one; when it ends a sentence (endsSentence),
 * that stream's input is ended, which makes it emit what it holds (the sentence the basic stream would
 * have emitted one token later), and a new one takes the text after it. The tokens are read from the
 * streams in order and carry this stream's segment id, which changes on `flush()` only (after text), as
 * the basic stream's does.
 */
class EagerSentenceStream extends tokenize.SentenceStream {
  readonly #basic: tokenize.basic.SentenceTokenizer;
  readonly #parts: Array<{ stream: tokenize.SentenceStream; segmentId: string }> = [];
  /** The text pushed into the last part. */
  #pending = '';
  #segmentId = shortuuid();
  #segmentHasText = false;
  #inputEnded = false;

  constructor(basic: tokenize.basic.SentenceTokenizer) {
    super();
    this.#basic = basic;
    this.#startPart();
  }

  override pushText(text: string): void {
    this.#assertOpen();
    if (!text) return;
    this.#last.pushText(text);
    this.#pending += text;
    this.#segmentHasText = true;
    if (endsSentence(this.#basic, this.#pending)) {
      this.#last.endInput();
      this.#startPart();
    }
  }

  override flush(): void {
    this.#assertOpen();
    if (!this.#segmentHasText) return;
    this.#last.endInput();
    this.#segmentId = shortuuid();
    this.#segmentHasText = false;
    this.#startPart();
  }

  override endInput(): void {
    this.#assertOpen();
    this.#last.endInput();
    this.#inputEnded = true;
  }

  override close(): void {
    for (const part of this.#parts) part.stream.close();
    this.#inputEnded = true;
    super.close();
  }

  override async next(): Promise<IteratorResult<tokenize.TokenData>> {
    while (this.#parts[0]) {
      const part = this.#parts[0];
      const read = await part.stream.next();
      if (!read.done) return { done: false, value: { token: read.value.token, segmentId: part.segmentId } };
      if (this.#parts[0] === part) this.#parts.shift();
    }
    return { done: true, value: undefined };
  }

  get #last(): tokenize.SentenceStream {
    return this.#parts.at(-1)!.stream;
  }

  #startPart(): void {
    this.#parts.push({ stream: this.#basic.stream(), segmentId: this.#segmentId });
    this.#pending = '';
  }

  #assertOpen(): void {
    if (this.#inputEnded || this.closed) throw new Error('Stream is closed');
  }
}
