/**
 * Shown generation text: no U+FFFD from byte tokens, no control characters, characters held back until
 * their last byte arrives. Bytes come through the real llama2.c tokenizer (tok512: byte b is token
 * b + 3, decoded with TextDecoder), so the U+FFFD are the decoder's, not written here.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../src/lib/model/generate';
import type { LoadedModel } from '../../src/lib/model/model';
import { randomWeights } from '../../src/lib/model/random';
import { visibleText } from '../../src/lib/model/visible-text';
import { loadStories } from '../helpers/helpers';

const byteIds = (bytes: number[]) => bytes.map((b) => b + 3);
const utf8 = (s: string) => [...new TextEncoder().encode(s)];

describe('visibleText', () => {
  let stories: LoadedModel;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    stories = loadStories();
  });

  it('holds a character back until its last byte token arrives', () => {
    const ids = byteIds(utf8('한국'));
    const shown: string[] = [];
    for (let n = 1; n <= ids.length; n++) {
      const decoded = stories.tokenizer.decode([1, ...ids.slice(0, n)]);
      if (n % 3 !== 0) expect(decoded).toContain('\uFFFD'); // the decoder's own view of a partial character
      shown.push(visibleText(decoded, false));
    }
    expect(shown).toEqual(['', '', '한', '한', '한', '한국']);
  });

  it('drops bytes that can never form a character, and control characters', () => {
    // a lone continuation byte, a lead byte cut off by ASCII, <0x01>, <0x1B>: each is U+FFFD or a control
    const ids = byteIds([0x95, ...utf8('A'), 0xed, ...utf8('B'), 0x01, 0x1b, ...utf8('C\n\tD')]);
    const decoded = stories.tokenizer.decode([1, ...ids]);
    expect(decoded).toMatch(/\uFFFD.*\uFFFD/s);
    expect(visibleText(decoded, false)).toBe('AB' + 'C\n\tD');
    // at the end, a trailing partial character is dropped rather than held
    const cut = stories.tokenizer.decode([1, ...byteIds([...utf8('가'), 0xeb, 0x82])]);
    expect(visibleText(cut, false)).toBe('가');
    expect(visibleText(cut, true)).toBe('가');
  });

  it('generate() streams and returns only shown text, whatever the sampled bytes', async () => {
    // random weights over tok512: about half the vocabulary is byte tokens, so sampling at
    // temperature 1 emits byte runs that form no character
    const model: LoadedModel = { ...stories, name: 'random', weights: randomWeights(stories.config, 3, 0.5) };
    const pieces: string[] = [];
    const out = await generate(model, [1], {
      maxNewTokens: 60,
      temperature: 1,
      seed: 5,
      onToken: (_id, text) => pieces.push(text),
    });
    const rawBad = model.tokenizer.decode([1, ...out.ids]).includes('\uFFFD');
    expect(rawBad, 'this seed should sample bytes that form no character').toBe(true);
    expect(out.text).not.toMatch(/[\uFFFD\u0000-\u0008\u000B-\u001F\u007F]/); // eslint-disable-line no-control-regex -- what must not be shown
    expect(pieces.join('')).toBe(out.text);
  });
});
