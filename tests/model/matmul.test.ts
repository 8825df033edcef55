/**
 * Frozen products on wasm (src/lib/model/matmul.ts): with the weight's Wᵀ kept (within the budget) and
 * without it (x·Wᵀ as (W·xᵀ)ᵀ), the same values and input gradient as tfjs' own transposed product on
 * the cpu backend; the budget counts the kept copies and release gives them back.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  DEFAULT_TRANSPOSE_CACHE_BYTES,
  matMulFrozenT,
  releaseTransposes,
  setTransposeCacheBytes,
  transposeCacheBytes,
} from '../../src/lib/model/matmul';
import { mulberry32 } from '../../src/lib/model/sample';
import { installLabKernels } from '../../src/lib/model/kernels/install';

installLabKernels('wasm');

const rand = (n: number, seed: number) => {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
};
const X = rand(37 * 24, 1);
const W = rand(40 * 24, 2);
const DY = rand(37 * 40, 3);

/** y = x·Wᵀ and dL/dx for L = Σ dy ∘ y, as plain arrays. */
function run(): { y: Float32Array; dx: Float32Array } {
  const x = tf.tensor2d(X, [37, 24]);
  const w = tf.tensor2d(W, [40, 24]);
  const dy = tf.tensor2d(DY, [37, 40]);
  const y = tf.tidy(() => matMulFrozenT(x, w));
  const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(matMulFrozenT(xi as tf.Tensor2D, w), dy)))(x);
  const out = { y: y.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array };
  releaseTransposes([w]);
  tf.dispose([x, w, dy, y, dx]);
  return out;
}

const close = (a: Float32Array, b: Float32Array) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

afterAll(() => setTransposeCacheBytes(DEFAULT_TRANSPOSE_CACHE_BYTES));

describe('frozen x·Wᵀ on wasm, Wᵀ kept or not', () => {
  it('same values and gradient as the cpu backend, either way; the budget counts the kept copy', async () => {
    await tf.setBackend('cpu');
    const ref = run();
    await tf.setBackend('wasm');
    setTransposeCacheBytes(DEFAULT_TRANSPOSE_CACHE_BYTES);
    const x = tf.tensor2d(X, [37, 24]);
    const w = tf.tensor2d(W, [40, 24]);
    tf.tidy(() => matMulFrozenT(x, w));
    expect(transposeCacheBytes()).toBe(4 * 40 * 24);
    releaseTransposes([w]);
    expect(transposeCacheBytes()).toBe(0);
    tf.dispose([x, w]);
    const kept = run();
    setTransposeCacheBytes(0);
    const before = tf.memory().numTensors;
    const plain = run();
    expect(tf.memory().numTensors).toBe(before);
    expect(transposeCacheBytes()).toBe(0);
    for (const r of [kept, plain]) {
      expect(close(r.y, ref.y)).toBeLessThan(1e-5);
      expect(close(r.dx, ref.dx)).toBeLessThan(1e-5);
    }
  });
});
