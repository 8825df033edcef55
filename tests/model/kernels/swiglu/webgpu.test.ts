/**
 * The SwiGLU kernel on WebGPU (src/lib/model/kernels/swiglu/webgpu.ts, Dawn on SwiftShader in Node)
 * against the reference path on the same backend: values and both gradients, on sizes that are not a
 * multiple of the workgroup size (256) and one that spans several workgroups, with large |g| (σ
 * saturating); and that swiglu() runs it as the CloLabSwiGLU kernels there (the cases and the check:
 * SWIGLU_CASES and checkSwiglu in ../webgpu-cases.ts, which the Chromium check runs too). Without a WebGPU
 * adapter the tests are skipped at run time with a warning, never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { swiglu } from '../../../../src/lib/model/kernels/swiglu/swiglu';
import { forceReference, kernelFor, labKernels } from '../../../../src/lib/model/kernels/registry';
import { expectRowsOk, webgpuOrSkip } from '../webgpu-helpers';
import { checkSwiglu, SWIGLU_CASES } from '../webgpu-cases';

let gpu = false;
beforeAll(async () => {
  gpu = await webgpuOrSkip('swiglu');
});
afterAll(() => tf.setBackend('cpu'));

describe('SwiGLU kernel on webgpu', () => {
  for (const c of SWIGLU_CASES)
    it(`values and grads = the reference path (${c.label})`, async (ctx) => {
      if (!gpu) return ctx.skip();
      expect(kernelFor('swiglu')).toBe('kernel');
      expectRowsOk(await checkSwiglu(c));
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
      // the check itself fails when the kernel does not run
      const rows = await checkSwiglu(SWIGLU_CASES[0]);
      expect(rows.map((r) => [r.ok, r.note])).toEqual(
        rows.map(() => [false, 'not run: CloLabSwiGLU, CloLabSwiGLUGrad']),
      );
    } finally {
      forceReference('swiglu', false);
    }
    expect(kernelFor('swiglu')).toBe('kernel');
    g.dispose();
  });
});
