import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { loadStories } from '../helpers/helpers';
import { bitsPerChar, countChars } from '../../src/lib/eval/bits-per-char';
import { perplexity } from '../../src/lib/eval/perplexity';

describe('bits per character', () => {
  it('counts code points, not UTF-16 units', () => {
    expect(countChars('한국어 ok')).toBe(6);
    expect(countChars('😀a')).toBe(2);
  });

  it('equals the perplexity NLL rescaled to bits and divided by characters', async () => {
    await tf.setBackend('cpu');
    const model = loadStories();
    const texts = ['Once upon a time there was a cat.', 'The dog ran to the park and played.'];
    const bpc = await bitsPerChar(model, texts);
    const ppl = await perplexity(model, texts);
    const chars = texts.reduce((n, t) => n + t.length, 0);
    expect(bpc.chars).toBe(chars);
    expect(bpc.tokens).toBe(ppl.tokens);
    expect(bpc.bits_per_char).toBeCloseTo((ppl.nll * ppl.tokens) / Math.LN2 / chars, 6);
    expect(bpc.tokens_per_char).toBeCloseTo(ppl.tokens / chars, 9);
    expect(bpc.bits_per_char).toBeGreaterThan(0);
  });
});
