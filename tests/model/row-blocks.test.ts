/**
 * Matrices larger than one storage binding, read in row blocks (src/lib/model/row-blocks.ts): with the
 * binding limit forced low (setStorageBindingLimit, as CLO_MAX_BINDING_BYTES does) a tiny model's
 * embedding / output head [37, 16] (2,368 bytes) is cut into blocks of 10 rows (640 bytes), and
 *  - the blocks are the matrix's rows, bit for bit (on WebGPU: copied buffer to buffer from a matrix
 *    already on the GPU, or cut from values still on the CPU);
 *  - the embedding gather (forwardHidden) is bit for bit the whole gather; the logits, a CLO loss and
 *    its LoRA gradients equal the unsplit path within 1e-5 (the head's log-sum-exp then runs over
 *    vocabulary blocks, a different float32 summation order).
 * On WebGPU in Node (Dawn on SwiftShader, docs/webgpu-here.md) and on the cpu backend (tied and untied
 * head). Without a WebGPU adapter that case is skipped with a warning, never passed silently.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { enableNodeWebgpu } from '../../cli/node-env';
import { setStorageBindingLimit, storageBindingLimit } from '../../src/lib/backend/webgpu-device';
import { defaultConfig, type ModelConfig } from '../../src/lib/model/config';
import { randomWeights } from '../../src/lib/model/random';
import { disposeWeights } from '../../src/lib/model/weights';
import { forward, forwardHidden, type ModelLike } from '../../src/lib/model/forward';
import { releaseRowBlocks, rowBlocks, rowsPerBlock } from '../../src/lib/model/row-blocks';
import { headLogprobs } from '../../src/lib/model/logprobs';
import { cloCase, randomSeqs } from '../helpers/tiny-models';

const V = 37;
const D = 16;
const LIMIT = 10 * D * 4;

afterEach(() => setStorageBindingLimit(null));

const cfgOf = (tied: boolean): ModelConfig =>
  defaultConfig({ dim: D, nLayers: 1, nHeads: 2, vocabSize: V, maxSeqLen: 32, tiedEmbeddings: tied });

function maxRel(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / s;
}

/** hidden states, logits, CLO loss and LoRA gradients of one tiny model, under the current limit */
async function outputs(cfg: ModelConfig) {
  const model: ModelLike = { config: cfg, weights: randomWeights(cfg, 5, 0.5) };
  const ids = tf.tensor2d(
    randomSeqs(2, V, 4, 9, 1).flatMap((s) => s.ids),
    [2, 9],
    'int32',
  );
  const hidden = tf.tidy(() => forwardHidden(model, ids));
  const logits = tf.tidy(() => forward(model, ids));
  const c = cloCase(cfg, randomSeqs(8, V, 3, 6, 4));
  const { value, grads } = tf.variableGrads(() => c.loss(1), c.vars);
  const out = {
    hidden: (await hidden.data()) as Float32Array,
    logits: (await logits.data()) as Float32Array,
    loss: (await value.data())[0],
    grads: await Promise.all(c.vars.map(async (v) => (await grads[v.name].data()) as Float32Array)),
    split: rowBlocks(model.weights.embed)?.blocks.length ?? 0,
  };
  tf.dispose([hidden, logits, value, ids, ...Object.values(grads)]);
  c.dispose();
  disposeWeights(model.weights);
  return out;
}

async function splitEqualsWhole(tied: boolean) {
  setStorageBindingLimit(null);
  const whole = await outputs(cfgOf(tied));
  expect(whole.split).toBe(0);
  setStorageBindingLimit(LIMIT);
  expect(storageBindingLimit()).toBe(LIMIT);
  const split = await outputs(cfgOf(tied));
  expect(split.split).toBe(4); // 10 + 10 + 10 + 7 rows
  expect(split.hidden).toEqual(whole.hidden);
  expect(maxRel(split.logits, whole.logits)).toBeLessThan(1e-6);
  expect(Math.abs(split.loss - whole.loss) / Math.abs(whole.loss)).toBeLessThan(1e-5);
  split.grads.forEach((g, i) => expect(maxRel(g, whole.grads[i]), `gradient ${i}`).toBeLessThan(1e-5));
}

async function blocksAreRows() {
  setStorageBindingLimit(LIMIT);
  const data = Float32Array.from({ length: V * D }, (_, i) => Math.sin(i) * 3);
  const fresh = tf.tensor2d(data, [V, D]); // values still on the CPU
  const used = tf.tensor2d(data, [V, D]);
  tf.dispose(tf.add(used, 1)); // now on the device
  await tf.sum(used).data();
  for (const w of [fresh, used]) {
    const split = rowBlocks(w)!;
    expect(split.rows).toBe(rowsPerBlock(V, D, LIMIT));
    expect(split.blocks.map((b) => b.shape)).toEqual([
      [10, D],
      [10, D],
      [10, D],
      [7, D],
    ]);
    const got = new Float32Array(V * D);
    let o = 0;
    for (const b of split.blocks) {
      const v = (await b.data()) as Float32Array;
      got.set(v, o);
      o += v.length;
    }
    expect(got).toEqual(data);
    releaseRowBlocks(w);
    expect(split.blocks.every((b) => b.isDisposed)).toBe(true);
  }
  tf.dispose([fresh, used]);
}

describe('row blocks under a forced binding limit: WebGPU (Dawn)', () => {
  it('blocks are the rows; gather, logits, loss and gradients equal the unsplit path', async (ctx) => {
    if (!(await enableNodeWebgpu())) {
      console.warn('row-blocks: no WebGPU adapter here (Dawn found no Vulkan driver): skipped');
      ctx.skip();
    }
    expect(await tf.setBackend('webgpu')).toBe(true);
    try {
      await blocksAreRows();
      await splitEqualsWhole(true);
    } finally {
      setStorageBindingLimit(null);
      await tf.setBackend('cpu');
    }
  });
});

describe('row blocks under a forced binding limit: cpu', () => {
  it.each([true, false])('tied head %s: gather, logits, loss and gradients equal the unsplit path', async (tied) => {
    expect(await tf.setBackend('cpu')).toBe(true);
    await blocksAreRows();
    await splitEqualsWhole(tied);
  });
});

describe('head log-probs in vocabulary blocks inside row blocks: cpu', () => {
  it('blocks of 4 vocabulary rows within blocks of 10 head rows: values and gradients as unsplit', async () => {
    expect(await tf.setBackend('cpu')).toBe(true);
    const w = tf.tensor2d(
      Float32Array.from({ length: V * D }, (_, i) => Math.cos(i * 0.7)),
      [V, D],
    );
    const h = tf.tensor2d(
      Float32Array.from({ length: 5 * D }, (_, i) => Math.sin(i * 1.3)),
      [5, D],
    );
    const t = tf.tensor1d([0, 9, 10, 33, 36], 'int32');
    // headLogprobs differentiates with respect to h only: check through a function of h
    const lp = async () => {
      const f = tf.valueAndGrad((x: tf.Tensor) => tf.sum(headLogprobs(x as tf.Tensor2D, w, t, { vocabChunk: 4 })));
      const { value, grad } = f(h);
      const out = { v: (await value.data())[0], g: (await grad.data()) as Float32Array };
      tf.dispose([value, grad]);
      return out;
    };
    const whole = await lp();
    setStorageBindingLimit(LIMIT);
    const split = await lp();
    expect(rowBlocks(w)!.blocks.length).toBe(4);
    expect(Math.abs(split.v - whole.v) / Math.abs(whole.v)).toBeLessThan(1e-6);
    expect(maxRel(split.g, whole.g)).toBeLessThan(1e-6);
    releaseRowBlocks(w);
    tf.dispose([w, h, t]);
  });
});
