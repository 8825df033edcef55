/**
 * The custom-gradient attention (src/lib/model/kernels/attention/attention.ts, fusedAttention) against autodiff of the plain formula
 * softmax(scale·q·kᵀ + bias)·v: values and the gradients of q, k, v, on cpu and wasm, with grouped
 * heads (R = 2·S rows), a causal bias shared by all pairs and a per-pair padding bias.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { autodiffAttention, fusedAttention } from '../../../../src/lib/model/kernels/attention/attention';
import { installLabKernels } from '../../../../src/lib/model/kernels/install';

installLabKernels('wasm');

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

function causal(n: number, G: number, T: number, padFrom: number[] | null): tf.Tensor3D {
  const S = T;
  const m = new Float32Array((padFrom ? n : 1) * G * T * S);
  for (let p = 0; p < (padFrom ? n : 1); p++)
    for (let g = 0; g < G; g++)
      for (let t = 0; t < T; t++)
        for (let s = 0; s < S; s++)
          if (s > t || (padFrom && s >= padFrom[p] && s > 0)) m[((p * G + g) * T + t) * S + s] = -1e9;
  return tf.tensor3d(m, [padFrom ? n : 1, G * T, S]);
}

// the tf custom-gradient form on every backend (on wasm attention() takes the WebAssembly kernel, tested
// in kernel.test.ts)
afterAll(() => tf.setBackend('cpu'));

describe.each(['cpu', 'wasm'])('attention on %s', (backend) => {
  it.each([
    ['shared causal bias', null],
    ['per-pair padding bias', [7, 3, 5, 2, 7, 6]],
  ] as const)('custom gradient = autodiff (%s)', async (_, pad) => {
    expect(await tf.setBackend(backend)).toBe(true);
    const [n, G, T, hd] = [6, 2, 7, 4];
    const scale = 1 / Math.sqrt(hd);
    const q = tf.randomNormal([n, G * T, hd], 0, 1, 'float32', 1) as tf.Tensor3D;
    const k = tf.randomNormal([n, T, hd], 0, 1, 'float32', 2) as tf.Tensor3D;
    const v = tf.randomNormal([n, T, hd], 0, 1, 'float32', 3) as tf.Tensor3D;
    const w = tf.randomNormal([n, G * T, hd], 0, 1, 'float32', 4); // a random cotangent
    const bias = causal(n, G, T, pad ? [...pad] : null);
    const loss = (f: typeof fusedAttention) => (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.mul(f(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, bias, scale), w));
    const want = tf.grads(loss(autodiffAttention))([q, k, v]);
    const got = tf.grads(loss(fusedAttention))([q, k, v]);
    expect(maxAbsDiff(fusedAttention(q, k, v, bias, scale), autodiffAttention(q, k, v, bias, scale))).toBeLessThan(
      1e-5,
    );
    want.forEach((g, i) => {
      expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(1e-2); // not trivially zero
      expect(maxAbsDiff(got[i], g)).toBeLessThan(1e-5);
    });
    tf.dispose([q, k, v, w, bias, ...want, ...got]);
  });
});
