/**
 * The LoRA term with its custom gradient (src/lib/model/lora-delta.ts) against autodiff of the plain
 * formula s·x·Aᵀ·Bᵀ: value and the gradients of x, A and B, on cpu and wasm.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loraDelta } from '../../src/lib/model/lora-delta';
import { installLabKernels } from '../../src/lib/model/kernels/install';

installLabKernels('wasm');

afterAll(() => tf.setBackend('cpu'));

const plain = (x: tf.Tensor2D, A: tf.Tensor2D, B: tf.Tensor2D, s: number) =>
  tf.mul(tf.matMul(tf.matMul(x, A, false, true), B, false, true), s) as tf.Tensor2D;

describe.each(['cpu', 'wasm'])('loraDelta on %s', (backend) => {
  it('value and gradients of x, A, B equal autodiff of s·x·Aᵀ·Bᵀ', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const [N, inp, out, r, s] = [13, 24, 20, 4, 2.5];
    const x = tf.randomNormal([N, inp], 0, 1, 'float32', 1) as tf.Tensor2D;
    const A = tf.randomNormal([r, inp], 0, 1, 'float32', 2) as tf.Tensor2D;
    const B = tf.randomNormal([out, r], 0, 1, 'float32', 3) as tf.Tensor2D;
    const w = tf.randomNormal([N, out], 0, 1, 'float32', 4); // a random cotangent
    const loss = (f: typeof plain) => (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.mul(f(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D, s), w));
    const want = tf.grads(loss(plain))([x, A, B]);
    const got = tf.grads(loss(loraDelta))([x, A, B]);
    const diff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
    const scaleOf = (a: tf.Tensor) => tf.max(tf.abs(a)).dataSync()[0];
    expect(diff(loraDelta(x, A, B, s), plain(x, A, B, s))).toBeLessThan(1e-5 * scaleOf(plain(x, A, B, s)));
    want.forEach((g, i) => {
      expect(got[i].shape).toEqual(g.shape);
      expect(scaleOf(g)).toBeGreaterThan(1e-2); // not trivially zero
      expect(diff(got[i], g)).toBeLessThan(1e-5 * scaleOf(g));
    });
  });
});
