/**
 * The kernel registry (src/lib/model/kernels/registry.ts), the one place that picks an op's
 * implementation: after installLabKernels('wasm'), the wasm backend gets the lab's attention and SwiGLU
 * kernels (attention only for head dims divisible by 4), cpu and webgpu the reference path; forcing a
 * kernel off gives the reference path with the same values; the memory estimate reads the same decision.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installLabKernels } from '../../../src/lib/model/kernels/install';
import { forceReference, kernelFor, labKernels } from '../../../src/lib/model/kernels/registry';
import { attention } from '../../../src/lib/model/kernels/attention/attention';
import { swiglu } from '../../../src/lib/model/kernels/swiglu/swiglu';
import { estimatePeak } from '../../../src/lib/model/memory';
import { BIG_6L } from '../../../src/lib/model/reference-shapes';

installLabKernels('wasm');

afterEach(() => {
  forceReference('attention', false);
  forceReference('swiglu', false);
});
afterAll(() => tf.setBackend('cpu'));

/** max |a − b| / max(1, max |b|) */
function relDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / Math.max(1, tf.max(tf.abs(b)).dataSync()[0]));
}

/** A causal bias [1, T, T]. */
const causal = (T: number) =>
  tf.tensor3d(
    Array.from({ length: T * T }, (_, i) => (i % T > Math.floor(i / T) ? -1e9 : 0)),
    [1, T, T],
  );

describe('the decision per backend', () => {
  it('wasm: the lab kernels are registered and picked (attention for hd % 4 == 0 only)', async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    expect(
      labKernels('wasm')
        .map((k) => k.op)
        .sort(),
    ).toEqual(['attention', 'packed-matmul', 'swiglu']);
    expect(tf.getKernel('CloLabAttention', 'wasm')).toBeDefined();
    expect(kernelFor('attention', { headDim: 8 })).toBe('kernel');
    expect(kernelFor('attention', { headDim: 6 })).toBe('reference');
    // wasm's kernel takes q and k already rotated: RoPE is not folded in there
    expect(kernelFor('attention', { headDim: 8, rope: true })).toBe('reference');
    expect(kernelFor('swiglu')).toBe('kernel');
    expect(kernelFor('packed-matmul')).toBe('kernel');
  });

  it('cpu: the reference path, and nothing is registered for it', async () => {
    expect(await tf.setBackend('cpu')).toBe(true);
    expect(labKernels('cpu')).toEqual([]);
    expect(kernelFor('attention', { headDim: 8 })).toBe('reference');
    expect(kernelFor('swiglu')).toBe('reference');
    // asked for another backend than the running one: its registrations decide
    expect(kernelFor('attention', { backend: 'wasm', headDim: 8 })).toBe('kernel');
    expect(kernelFor('attention', { backend: 'webgpu', headDim: 8 })).toBe('reference');
  });
});

describe('forcing a kernel off', () => {
  it('wasm: the reference path runs (no lab kernel in the profile) with the same values and gradients', async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    const [n, T, hd] = [3, 9, 8];
    const q = tf.randomNormal([n, T, hd], 0, 1, 'float32', 1) as tf.Tensor3D;
    const k = tf.randomNormal([n, T, hd], 0, 1, 'float32', 2) as tf.Tensor3D;
    const v = tf.randomNormal([n, T, hd], 0, 1, 'float32', 3) as tf.Tensor3D;
    const g = tf.randomNormal([7, 13], 0, 2, 'float32', 4) as tf.Tensor2D;
    const u = tf.randomNormal([7, 13], 0, 1, 'float32', 5) as tf.Tensor2D;
    const bias = causal(T);
    const run = async () => {
      let out: tf.Tensor[] = [];
      const prof = await tf.profile(() => {
        const att = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          tf.sum(tf.mul(attention(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, bias, 0.35), a)),
        )([q, k, v]);
        const sw = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(swiglu(a as tf.Tensor2D, b as tf.Tensor2D), a)),
        )([g, u]);
        out = [attention(q, k, v, bias, 0.35), swiglu(g, u), ...att, ...sw];
      });
      return { out, kernels: prof.kernels.map((x) => x.name) };
    };
    const fused = await run();
    forceReference('attention');
    forceReference('swiglu');
    expect(kernelFor('attention', { headDim: hd })).toBe('reference');
    expect(kernelFor('swiglu')).toBe('reference');
    const ref = await run();
    expect(fused.kernels).toEqual(expect.arrayContaining(['CloLabAttention', 'CloLabSwiGLU']));
    expect(ref.kernels.filter((x) => x.startsWith('CloLab'))).toEqual([]);
    expect(ref.out.length).toBe(7);
    ref.out.forEach((t, i) => expect(relDiff(fused.out[i], t)).toBeLessThan(1e-5));
    tf.dispose([q, k, v, g, u, bias, ...fused.out, ...ref.out]);
  });
});

describe('the memory estimate reads the same decision', () => {
  it('wasm keeps no attention scores while the kernel is picked, and does once it is forced off', () => {
    const run = { batchSize: 4, seqLen: 256, lora: { r: 8, targets: ['q_proj' as const] }, backend: 'wasm' };
    const withKernel = estimatePeak(BIG_6L, run);
    forceReference('attention');
    const withoutKernel = estimatePeak(BIG_6L, run);
    expect(withoutKernel.activations).toBeGreaterThan(withKernel.activations);
    expect(estimatePeak(BIG_6L, { ...run, backend: 'cpu' }).activations).toBe(withoutKernel.activations);
  });
});
