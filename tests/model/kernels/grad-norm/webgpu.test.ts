/**
 * The gradient-statistics kernel on WebGPU (src/lib/model/kernels/grad-norm/webgpu.ts, Dawn on
 * SwiftShader in Node) against the reference path: clip scale, norm and the two finite flags for lengths
 * below one workgroup, with a tail, and above 256 workgroups (each invocation then strides over several
 * elements); NaN, +Inf and −Inf placed in g and in p, at the first, a middle and the last element; and
 * that it runs as one kernel (the cases and the check: GRAD_NORM_CASES and checkGradNorm in
 * ../webgpu-cases.ts, which the Chromium check runs too). Without a WebGPU adapter the tests are skipped
 * at run time with a warning, never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { kernelFor } from '../../../../src/lib/model/kernels/registry';
import { expectRowsOk, webgpuOrSkip } from '../webgpu-helpers';
import { checkGradNorm, GRAD_NORM_CASES } from '../webgpu-cases';

let gpu = false;
beforeAll(async () => {
  gpu = await webgpuOrSkip('grad-norm');
});
afterAll(() => tf.setBackend('cpu'));

describe('gradient statistics kernel on webgpu', () => {
  for (const c of GRAD_NORM_CASES)
    it(`clip, norm and finite flags = the reference path (${c.label})`, async (ctx) => {
      if (!gpu) return ctx.skip();
      expect(kernelFor('grad-norm')).toBe('kernel');
      expectRowsOk(await checkGradNorm(c));
    });
});
