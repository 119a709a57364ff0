/**
 * agents-js's markdown filter for the voice's text (the session's default `ttsTextTransforms` entry
 * 'filter_markdown'), fed so that it lets a finished sentence go as soon as its "." has come. The filter
 * passes its text on only up to the last space or punctuation it holds, leaving that character out, so
 * with OpenAI's tokens (" sense", ".", " Let") the "." waits for the next token (~17 ms) and with it the
 * voice's first sentence, which the voice's tokenizer (eager-sentences.ts) would release on the ".".
 */

import { type ReadableStream, TransformStream } from 'node:stream/web';
import { tokenize, voice } from '@livekit/agents';
import { endsSentence, VOICE_MIN_SENTENCE_LENGTH } from './eager-sentences';

type TextTransform = (text: ReadableStream<string>) => ReadableStream<string>;

/**
 * Put after a sentence's last character: one of the filter's split characters (text_transforms.js
 * `inlineSplitTokens`), so the filter passes on the sentence up to it, and one an English reply does
 * not hold (FULLWIDTH SEMICOLON). Taken out again from what the filter passes on.
 */
const MARK = '\uFF1B';
/** The filter's inline markdown markers (text_transforms.js `inlineMarkers`): a reply with any is left as it is. */
const MARKDOWN = /[*_`~[]/;

/**
 * `filter` (agents-js's filterMarkdown by default), whose output is exactly what the filter alone gives,
 * except that a sentence ending in a model chunk (by `endsSentence`, the voice tokenizer's rule, with its
 * settings) leaves the filter with that chunk. A mark goes in after the chunk and is taken out behind
 * the filter; a transform before the filter alone (a space, dropped from the next chunk if that starts
 * with one) would leave its space in the voice's text at the end of a reply or before a line break.
 * The marks stop at the first markdown marker or mark character the reply holds, so no mark is ever
 * inside markdown the filter rewrites, and the marks taken out are exactly the ones put in (they come
 * before any the model wrote, in the same order).
 */
export function eagerMarkdownFilter(
  filter: TextTransform = voice.textTransforms.filterMarkdown,
  basic = new tokenize.basic.SentenceTokenizer({ minSentenceLength: VOICE_MIN_SENTENCE_LENGTH }),
): TextTransform {
  return (text) => {
    let marked = 0;
    let unmarked = 0;
    let marking = true;
    /** The text since the last sentence end, as the voice's tokenizer holds it. */
    let sentence = '';
    const input = text.pipeThrough(
      new TransformStream<string, string>({
        transform(chunk, out) {
          if (marking && (MARKDOWN.test(chunk) || chunk.includes(MARK))) marking = false;
          if (!marking) return out.enqueue(chunk);
          sentence += chunk;
          if (!endsSentence(basic, sentence)) return out.enqueue(chunk);
          sentence = '';
          // The filter passes on a chunk ending in whitespace already, and holds one ending in "!" whatever
          // follows (an image, "![", may begin there).
          if (/[\s!]$/.test(chunk)) return out.enqueue(chunk);
          marked++;
          out.enqueue(chunk + MARK);
        },
      }),
    );
    return filter(input).pipeThrough(
      new TransformStream<string, string>({
        transform(chunk, out) {
          let filtered = chunk;
          while (unmarked < marked && filtered.includes(MARK)) {
            filtered = filtered.replace(MARK, '');
            unmarked++;
          }
          if (filtered) out.enqueue(filtered);
        },
      }),
    );
  };
}
