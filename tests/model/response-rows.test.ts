/**
 * The output head scores only a batch's response rows (src/lib/model/logprobs.ts maskedTokenLogprobs, from
 * the rows packBatch lists): per-token log-probs and the LoRA gradients of a CLO loss equal those of the
 * head over every position masked afterwards, on cpu and wasm, with prompts, padding and LoRA dropout; and
 * the head really runs on fewer rows.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { defaultConfig } from '../../src/lib/model/config';
import { randomWeights } from '../../src/lib/model/random';
import type { ModelLike } from '../../src/lib/model/forward';
import { createLora, disposeLora, loraVariables } from '../../src/lib/lora/lora';
import { disposeBatch, packBatch } from '../../src/lib/model/batch';
import { maskedTokenLogprobs, sequenceLogprobs } from '../../src/lib/model/logprobs';
import { getObjective } from '../../src/lib/objectives';
import { installLabKernels } from '../../src/lib/model/kernels/install';
import { randomSeqs } from '../helpers/tiny-models';

installLabKernels('wasm');

const cfg = defaultConfig({ dim: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 40, hiddenDim: 24, maxSeqLen: 32 });

describe.each(['cpu', 'wasm'])('head on the response rows only (%s)', (backend) => {
  it('log-probs and CLO LoRA gradients = the head over every row, masked (1e-6)', async () => {
    await tf.setBackend(backend);
    await tf.ready();
    const model: ModelLike = { config: cfg, weights: randomWeights(cfg, 5, 0.1) };
    const lora = createLora(cfg, { r: 4, alpha: 8, dropout: 0.2, targets: ['q_proj', 'v_proj'], init: 'gaussian' }, 3);
    for (const p of lora.adapters.values()) p.B.assign(tf.randomUniform(p.B.shape, -0.1, 0.1, 'float32', 4));
    // lengths 6..15 in a batch padded to 16: prompts, responses and padding
    const batch = packBatch(randomSeqs(8, cfg.vocabSize, 7, 6, 10), cfg.maxSeqLen, 4);
    const rows = batch.responseRows!;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan((batch.B * batch.T) / 2);
    const all = { ...batch, responseRows: undefined };
    const counts = tf.tensor1d(batch.counts);
    const reference = tf.tidy(() => sequenceLogprobs(model, all, lora, false));
    const lossOf = (b: typeof batch) => () =>
      getObjective('clo').loss(
        { policy: sequenceLogprobs(model, b, lora, true, 11), reference, counts },
        { beta: 0.5, lambda: 0.3 },
      ).loss;
    const vars = loraVariables(lora);
    const got = tf.variableGrads(lossOf(batch), vars);
    const want = tf.variableGrads(lossOf(all), vars);
    expect(Math.abs(got.value.dataSync()[0] - want.value.dataSync()[0])).toBeLessThan(1e-6);
    let diff = 0;
    let size = 0;
    for (const v of vars) {
      const a = got.grads[v.name].dataSync();
      const b = want.grads[v.name].dataSync();
      for (let i = 0; i < a.length; i++) {
        diff = Math.max(diff, Math.abs(a[i] - b[i]));
        size = Math.max(size, Math.abs(b[i]));
      }
    }
    expect(size).toBeGreaterThan(1e-3);
    expect(diff).toBeLessThan(1e-6);
    // per token: the same values, zeros outside the responses
    const lpGot = tf.tidy(() => maskedTokenLogprobs(model, batch, lora).dataSync());
    const lpWant = tf.tidy(() => maskedTokenLogprobs(model, all, lora).dataSync());
    expect(Array.from(lpGot).map((x) => +x.toFixed(5))).toEqual(Array.from(lpWant).map((x) => +x.toFixed(5)));
    // the head's product ran on the response rows: no product with B·T rows against the vocabulary
    const prof = await tf.profile(() => maskedTokenLogprobs(model, batch, lora));
    const headRows = prof.kernels
      .filter((k) => k.name === 'BatchMatMul' || k.name === '_FusedMatMul')
      .filter((k) => k.outputShapes[0]?.[k.outputShapes[0].length - 1] === cfg.vocabSize)
      .map((k) => k.outputShapes[0][k.outputShapes[0].length - 2]);
    expect(headRows).toEqual([rows.length]);
    tf.dispose([counts, reference, got.value, want.value, ...Object.values(got.grads), ...Object.values(want.grads)]);
    tf.dispose(prof.result as tf.Tensor);
    disposeBatch(batch);
    disposeLora(lora);
  });
});
