import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { concatPcm, silence, speak, writeWav } from '../../dev/standins/audio';
import { PhraseBook } from '../../dev/standins/phrase-book';
import { trimToSpeech, UtteranceDetector } from '../../dev/standins/utterances';

/** Matching is what makes the speech-to-text stand-in useful: right phrase, or nothing. */

const PHRASES = ['I have been feeling anxious all week.', 'I have been feeling tired all week.', 'Can we try a breathing exercise?', 'Yes.', 'No.'];
const book = new PhraseBook();

beforeAll(async () => {
  for (const phrase of PHRASES) await book.addSpoken(phrase);
});

async function heard(text: string, sampleRate = 16_000): Promise<Int16Array> {
  return trimToSpeech(await speak(text, { sampleRate }), sampleRate);
}

describe('phrase book', () => {
  it('recognises each registered phrase at the usual sample rates', async () => {
    for (const rate of [16_000, 24_000, 48_000]) {
      for (const phrase of PHRASES) {
        expect(book.matchUtterance(await heard(phrase, rate), rate)?.text).toBe(phrase);
      }
    }
  });

  it('refuses phrases it does not know, even one word away from one it does', async () => {
    const others = ['I have been feeling sad all week.', 'Can we try a stretching exercise?', 'Maybe.', 'Thank you so much for your help today.'];
    for (const other of others) {
      expect(book.matchUtterance(await heard(other), 16_000)).toBeUndefined();
    }
  });

  it('is deterministic: the same audio always scores the same', async () => {
    const audio = await heard(PHRASES[2]!);
    const first = book.rank(audio, 16_000);
    expect(book.rank(audio, 16_000)).toEqual(first);
    expect(new PhraseBook().add('x', audio, 16_000).rank(audio, 16_000)[0]!.score).toBeCloseTo(1, 3);
  });

  it('still recognises a recording played quieter and with hiss', async () => {
    let seed = 42;
    const hiss = () => {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
      return (seed / 0x7fffffff - 0.5) * 60;
    };
    for (const phrase of PHRASES) {
      const raw = concatPcm(silence(200, 16_000), await speak(phrase, { sampleRate: 16_000 }), silence(200, 16_000));
      const altered = Int16Array.from(raw, (x) => Math.round(x * 0.3 + hiss()));
      expect(book.matchUtterance(trimToSpeech(altered, 16_000), 16_000)?.text).toBe(phrase);
    }
  });

  it('gives words in order, inside the utterance', async () => {
    const audio = await heard(PHRASES[0]!);
    const match = book.matchUtterance(audio, 16_000)!;
    expect(match.words.map((w) => w.punctuatedWord).join(' ')).toBe(PHRASES[0]);
    expect(match.words.map((w) => w.word)).toEqual(['i', 'have', 'been', 'feeling', 'anxious', 'all', 'week']);
    for (const [i, w] of match.words.entries()) {
      expect(w.end).toBeGreaterThan(w.start);
      if (i > 0) expect(w.start).toBeGreaterThanOrEqual(match.words[i - 1]!.end);
    }
    expect(match.words.at(-1)!.end).toBeLessThanOrEqual(audio.length / 16_000);
  });

  it('guesses the words spoken so far from the opening of a phrase', async () => {
    const audio = await heard(PHRASES[2]!);
    const guess = book.matchPrefix(audio.subarray(0, Math.floor(audio.length * 0.6)), 16_000);
    expect(guess).toBeDefined();
    expect(PHRASES[2]!.startsWith(guess!.text)).toBe(true);
    expect(guess!.text.length).toBeLessThan(PHRASES[2]!.length);
  });

  it('loads recordings from a folder, text from a .txt beside them or the file name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'phrases-'));
    try {
      await writeWav(join(dir, 'greeting.wav'), await speak('Good morning, coach.', { sampleRate: 22_050 }), 22_050);
      await writeFile(join(dir, 'greeting.txt'), 'Good morning, coach.\n');
      await writeWav(join(dir, 'i-slept-well.wav'), await speak('I slept well', { sampleRate: 16_000 }), 16_000);
      const folder = await new PhraseBook().addFolder(dir);
      expect(folder.texts).toEqual(['Good morning, coach.', 'i slept well']);
      expect(folder.matchUtterance(await heard('I slept well'), 16_000)?.text).toBe('i slept well');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('utterance detector', () => {
  it('cuts the same utterances however the audio is chunked', async () => {
    const pause = silence(900, 16_000);
    const audio = concatPcm(silence(300, 16_000), await speak(PHRASES[0]!), pause, await speak(PHRASES[3]!), pause);
    const cut = (chunk: number) => {
      const detector = new UtteranceDetector(16_000);
      const ends: Array<[number, number]> = [];
      for (let at = 0; at < audio.length; at += chunk) {
        for (const e of detector.push(audio.subarray(at, at + chunk))) {
          if (e.type === 'end') ends.push([e.startSample, e.endSample]);
        }
      }
      return ends;
    };
    const whole = cut(audio.length);
    expect(whole).toHaveLength(2);
    expect(cut(160)).toEqual(whole);
    expect(cut(1_601)).toEqual(whole);
  });

  it('keeps a sentence pause inside one utterance', async () => {
    const detector = new UtteranceDetector(16_000);
    const events = detector.push(concatPcm(await speak('Hello. How are you feeling today?'), silence(1_000, 16_000)));
    expect(events.filter((e) => e.type === 'end')).toHaveLength(1);
  });
});
