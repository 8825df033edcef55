/**
 * The WebGPU head log-probs kernel (src/lib/model/kernels/head-logprobs/webgpu.ts) against the reference
 * path (headLogprobs of src/lib/model/logprobs.ts on the cpu backend): log-probs and d h, with tails
 * (vocabulary and head dim past one workgroup of 64, neither a multiple) and a target outside the
 * vocabulary (log-prob 0, as the reference's all-zero one-hot row gives). headLogprobs itself takes the
 * kernel on webgpu once it is registered. Without a WebGPU adapter the cases are skipped at run time with a warning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { enableNodeWebgpu } from '../../../../cli/node-env';
import { registerWebGPUHeadLogprobs } from '../../../../src/lib/model/kernels/head-logprobs/webgpu';
import { kernelFor } from '../../../../src/lib/model/kernels/registry';
import { headLogprobs } from '../../../../src/lib/model/logprobs';

let gpu = false;

beforeAll(async () => {
  gpu = await enableNodeWebgpu();
  if (!gpu)
    console.warn(
      'webgpu head log-probs kernel: SKIPPED: no WebGPU adapter in this Node (Dawn found no Vulkan driver; see docs/webgpu-here.md)',
    );
  else registerWebGPUHeadLogprobs(); // not installed by installLabKernels (see its doc)
});

afterAll(() => tf.setBackend('cpu'));

const [N, D, V] = [5, 70, 130];

async function run(backend: string, h0: Float32Array, w0: Float32Array, t0: Int32Array, dy0: Float32Array) {
  expect(await tf.setBackend(backend)).toBe(true);
  const h = tf.tensor2d(h0, [N, D]);
  const w = tf.tensor2d(w0, [V, D]);
  const t = tf.tensor1d(t0, 'int32');
  const dy = tf.tensor1d(dy0);
  const f = (x: tf.Tensor) => headLogprobs(x as tf.Tensor2D, w, t);
  const lp = f(h);
  const [dh] = tf.grads(f)([h], dy);
  const out = [(await lp.data()) as Float32Array, (await dh.data()) as Float32Array];
  tf.dispose([h, w, t, dy, lp, dh]);
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('the WebGPU head log-probs kernel', () => {
  it('= the reference path: log-probs and their gradient, tails, a target outside the vocabulary', async (ctx) => {
    if (!gpu) return ctx.skip();
    expect(await tf.setBackend('webgpu')).toBe(true);
    expect(kernelFor('head-logprobs')).toBe('kernel');
    expect(await tf.setBackend('cpu')).toBe(true);
    expect(kernelFor('head-logprobs')).toBe('reference');
    const rnd = (size: number, seed: number) =>
      tf.tidy(() => tf.randomNormal([size], 0, 1, 'float32', seed).dataSync() as Float32Array);
    const h = rnd(N * D, 1);
    const w = rnd(V * D, 2).map((x) => x * 0.3);
    const targets = Int32Array.from([0, 129, 64, 17, -1]);
    const dy = rnd(N, 3);
    const [lpWant, dhWant] = await run('cpu', h, w, targets, dy);
    const [lpGot, dhGot] = await run('webgpu', h, w, targets, dy);
    expect(lpWant[4]).toBe(0);
    expect(maxAbsDiff(lpGot, lpWant)).toBeLessThan(2e-5);
    expect(Math.max(...dhWant.map(Math.abs))).toBeGreaterThan(1e-1);
    expect(maxAbsDiff(dhGot, dhWant)).toBeLessThan(2e-5);
  });
});
