import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { forward } from '../../src/lib/model/forward';
import { generate } from '../../src/lib/model/generate';
import { golden, loadStories } from '../helpers/helpers';

describe('stories260K against the golden reference', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  const g = golden();

  it('encodes "Once upon a time" like llama2.c', () => {
    const m = loadStories();
    expect(m.tokenizer.encode('Once upon a time')).toEqual(g.greedy_from_prompt.prompt_ids);
  });

  it('position-0 logits after BOS match within 1e-4', async () => {
    const m = loadStories();
    const logits = tf.tidy(() => forward(m, tf.tensor2d([[1]], [1, 1], 'int32')).reshape([-1]));
    const v = (await logits.data()) as Float32Array;
    g.logits_pos0_bos.first8.forEach((x: number, i: number) => expect(Math.abs(v[i] - x)).toBeLessThan(1e-4));
    let arg = 0;
    for (let i = 1; i < v.length; i++) if (v[i] > v[arg]) arg = i;
    expect(arg).toBe(g.logits_pos0_bos.argmax);
    expect(Math.abs(v[arg] - g.logits_pos0_bos.max)).toBeLessThan(1e-4);
  });

  it('greedy generation from BOS reproduces the 64 golden ids and text', async () => {
    const m = loadStories();
    const out = await generate(m, [1], { maxNewTokens: 64, temperature: 0 });
    expect(out.ids).toEqual(g.greedy_from_bos.generated_ids);
    expect(out.text).toBe(g.greedy_from_bos.text);
  });

  it('greedy generation from "Once upon a time" reproduces the golden text', async () => {
    const m = loadStories();
    const prompt = m.tokenizer.encode(g.greedy_from_prompt.prompt);
    const out = await generate(m, prompt, { maxNewTokens: g.greedy_from_prompt.steps_total - (prompt.length - 1) });
    expect([...prompt.slice(1), ...out.ids]).toEqual(g.greedy_from_prompt.ids_after_bos);
    expect(g.greedy_from_prompt.prompt + out.text).toBe(g.greedy_from_prompt.text);
  });
});
