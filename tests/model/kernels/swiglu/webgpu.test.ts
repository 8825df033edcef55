/**
 * The SwiGLU kernel on WebGPU (src/lib/model/kernels/swiglu/webgpu.ts, Dawn on SwiftShader in Node)
 * against the reference path on the same backend: values and both gradients, on sizes that are not a
 * multiple of the workgroup size (256) and one that spans several workgroups, with large |g| (σ
 * saturating); and that swiglu() runs it as the CloLabSwiGLU kernels there. Without a WebGPU adapter the
 * tests are skipped at run time with a warning, never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { referenceSwiglu, swiglu } from '../../../../src/lib/model/kernels/swiglu/swiglu';
import { forceReference, kernelFor, labKernels } from '../../../../src/lib/model/kernels/registry';
import { gradsOn, maxAbs, relDiff, webgpuOrSkip } from '../webgpu-helpers';

let gpu = false;
beforeAll(async () => {
  gpu = await webgpuOrSkip('swiglu');
});
afterAll(() => tf.setBackend('cpu'));

describe('SwiGLU kernel on webgpu', () => {
  const cases = [
    ['[3, 7] (one partial workgroup)', 3, 7, 2],
    ['[17, 31] (3 workgroups, tail of 15)', 17, 31, 2],
    ['[2, 5], large |g| (σ saturates)', 2, 5, 60],
  ] as const;
  for (const [label, N, H, spread] of cases)
    it(`values and grads = the reference path (${label})`, async (ctx) => {
      if (!gpu) return ctx.skip();
      expect(kernelFor('swiglu')).toBe('kernel');
      const g = tf.randomNormal([N, H], 0, spread, 'float32', 5) as tf.Tensor2D;
      const u = tf.randomNormal([N, H], 0, 1, 'float32', 6) as tf.Tensor2D;
      const w = tf.randomNormal([N, H], 0, 1, 'float32', 7);
      const loss = (f: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor) => (a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(f(a as tf.Tensor2D, b as tf.Tensor2D), w));
      const { value, grads, kernels } = await gradsOn(loss(swiglu), [g, u], (a, b) =>
        swiglu(a as tf.Tensor2D, b as tf.Tensor2D),
      );
      expect(kernels).toEqual(expect.arrayContaining(['CloLabSwiGLU', 'CloLabSwiGLUGrad']));
      const want = tf.grads(loss(referenceSwiglu))([g, u]);
      const wantValue = referenceSwiglu(g, u);
      expect(await relDiff(value, wantValue)).toBeLessThan(2e-6);
      for (const [i, x] of want.entries()) {
        expect(await maxAbs(x)).toBeGreaterThan(1e-2);
        expect(await relDiff(grads[i], x)).toBeLessThan(2e-6);
      }
      tf.dispose([g, u, w, value, wantValue, ...grads, ...want]);
    });

  it('the registry: the lab kernels of webgpu, and forceReference turns one off there', async (ctx) => {
    if (!gpu) return ctx.skip();
    expect([...new Set(labKernels('webgpu').map((k) => k.op))].sort()).toEqual(
      expect.arrayContaining(['adamw', 'rmsnorm', 'swiglu']),
    );
    const g = tf.randomNormal([2, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
    forceReference('swiglu');
    try {
      expect(kernelFor('swiglu')).toBe('reference');
      const prof = await tf.profile(() => swiglu(g, g));
      expect(prof.kernels.map((k) => k.name)).not.toContain('CloLabSwiGLU');
    } finally {
      forceReference('swiglu', false);
    }
    expect(kernelFor('swiglu')).toBe('kernel');
    g.dispose();
  });
});
