/**
 * UnsortedSegmentSum on wasm (src/lib/model/kernels/segment-sum/wasm.ts, installed by installLabKernels):
 * the gradient of gather (an embedding lookup with repeated ids) equals the cpu backend's, for float32
 * rows and ids out of range skipped.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installLabKernels } from '../../../../src/lib/model/kernels/install';

installLabKernels('wasm');

afterAll(() => tf.setBackend('cpu'));

/** d Σ (gather(table, ids) ∘ w) / d table, and a direct segment sum with an id out of range. */
function run(): number[][] {
  const table = tf.tensor2d(
    Array.from({ length: 6 * 3 }, (_, i) => i * 0.1),
    [6, 3],
  );
  const ids = tf.tensor1d([4, 1, 4, 0, 4], 'int32');
  const w = tf.tensor2d(
    Array.from({ length: 5 * 3 }, (_, i) => (i % 7) - 3),
    [5, 3],
  );
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), w)))(table);
  const s = tf.unsortedSegmentSum(w, tf.tensor1d([2, 9, 2, 0, 1], 'int32'), 3);
  return [Array.from(g.dataSync()), Array.from(s.dataSync())];
}

describe('wasm UnsortedSegmentSum', () => {
  it('gather gradient and segment sums = the cpu backend', async () => {
    expect(await tf.setBackend('cpu')).toBe(true);
    const want = run();
    expect(await tf.setBackend('wasm')).toBe(true);
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
    const got = run();
    expect(got).toEqual(want);
    expect(want[0].some((v) => v !== 0)).toBe(true);
  });
});
