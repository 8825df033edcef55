import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { scoreSequences, scoreSharedPrefix } from '../../src/lib/model/score';
import { tokenizePair } from '../../src/lib/model/batch';
import { createLora } from '../../src/lib/lora/lora';
import { DEFAULT_LORA } from '../../src/lib/lora/types';
import { loadStories } from '../helpers/helpers';

describe('scoreSharedPrefix', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('gives the same log-probs as scoring each choice on its own (with and without an adapter)', async () => {
    const m = loadStories();
    const context =
      'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day she';
    const choices = [' saw a big red ball.', ' went to the store with her mom.', ' was sad.'];
    const items = choices.map((c) => tokenizePair(m.tokenizer, context, c, 512, false));
    expect(items[0].start).toBeGreaterThan(16);
    const lora = createLora(m.config, DEFAULT_LORA, 3);
    // give B non-zero values so the adapter changes the scores
    for (const p of lora.adapters.values()) p.B.assign(tf.randomNormal(p.B.shape, 0, 0.05, 'float32', 9));
    for (const l of [null, lora]) {
      const a = await scoreSequences(m, items, { lora: l });
      const before = tf.memory().numTensors;
      const b = await scoreSharedPrefix(m, items, { lora: l });
      expect(tf.memory().numTensors).toBe(before);
      b.forEach((r, i) => {
        expect(r.count).toBe(a[i].count);
        expect(Math.abs(r.sum - a[i].sum)).toBeLessThan(1e-3);
        r.tokenLogprobs.forEach((v, j) => expect(Math.abs(v - a[i].tokenLogprobs[j])).toBeLessThan(1e-4));
      });
    }
    // the adapter really changed the scores (otherwise the second pass proves nothing)
    const plain = await scoreSharedPrefix(m, items);
    const adapted = await scoreSharedPrefix(m, items, { lora });
    expect(Math.abs(plain[0].sum - adapted[0].sum)).toBeGreaterThan(1e-3);
  });

  it('falls back to plain scoring when the choices share no long prefix', async () => {
    const m = loadStories();
    const items = [
      tokenizePair(m.tokenizer, 'A', ' cat.', 64, false),
      tokenizePair(m.tokenizer, 'A', ' dog.', 64, false),
    ];
    const a = await scoreSequences(m, items);
    const b = await scoreSharedPrefix(m, items);
    b.forEach((r, i) => expect(r.sum).toBeCloseTo(a[i].sum, 5));
  });
});
