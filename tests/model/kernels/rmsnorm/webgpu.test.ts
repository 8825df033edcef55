/**
 * The RMSNorm kernel on WebGPU (src/lib/model/kernels/rmsnorm/webgpu.ts, Dawn on SwiftShader in Node)
 * against the reference path on the same backend: values and the gradient for x, on rows shorter than
 * the workgroup (64), longer with a tail (131 = 2·64 + 3), and many rows; and that rmsNorm() runs it as
 * the CloLabRMSNorm kernels there. Without a WebGPU adapter the tests are skipped at run time with a
 * warning, never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { referenceRmsNorm, rmsNorm } from '../../../../src/lib/model/kernels/rmsnorm/rmsnorm';
import { kernelFor } from '../../../../src/lib/model/kernels/registry';
import { gradsOn, maxAbs, relDiff, webgpuOrSkip } from '../webgpu-helpers';

let gpu = false;
beforeAll(async () => {
  gpu = await webgpuOrSkip('rmsnorm');
});
afterAll(() => tf.setBackend('cpu'));

describe('RMSNorm kernel on webgpu', () => {
  const cases = [
    ['[3, 5] (row shorter than the workgroup)', 3, 5, 1],
    ['[5, 131] (two strides and a tail of 3)', 5, 131, 3],
    ['[70, 16] (many rows, small values: ε matters)', 70, 16, 1e-3],
  ] as const;
  for (const [label, N, D, scale] of cases)
    it(`values and dx = the reference path (${label})`, async (ctx) => {
      if (!gpu) return ctx.skip();
      expect(kernelFor('rmsnorm')).toBe('kernel');
      const eps = 1e-5;
      const x = tf.randomNormal([N, D], 0, scale, 'float32', 5) as tf.Tensor2D;
      const w = tf.randomNormal([D], 1, 0.5, 'float32', 6);
      const p = tf.randomNormal([N, D], 0, 1, 'float32', 7);
      const loss = (f: typeof rmsNorm) => (a: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor2D, w, eps), p));
      const { value, grads, kernels } = await gradsOn(loss(rmsNorm), [x], (a) => rmsNorm(a as tf.Tensor2D, w, eps));
      expect(kernels).toEqual(expect.arrayContaining(['CloLabRMSNorm', 'CloLabRMSNormGrad']));
      const want = tf.grads(loss(referenceRmsNorm))([x]);
      const wantValue = referenceRmsNorm(x, w, eps);
      expect(await relDiff(value, wantValue)).toBeLessThan(1e-5);
      expect(await maxAbs(want[0])).toBeGreaterThan(1e-2);
      // relative to the gradient's own size (it is ~1/scale)
      const d = tf.sub(grads[0], want[0]);
      expect((await maxAbs(d)) / (await maxAbs(want[0]))).toBeLessThan(1e-5);
      tf.dispose([x, w, p, d, value, wantValue, ...grads, ...want]);
    });
});
