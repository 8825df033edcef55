/**
 * The RMSNorm kernel on WebGPU (src/lib/model/kernels/rmsnorm/webgpu.ts, Dawn on SwiftShader in Node)
 * against the reference path on the same backend: values and the gradient for x, on rows shorter than
 * the workgroup (64), longer with a tail (131 = 2·64 + 3), and many rows; and that rmsNorm() runs it as
 * the CloLabRMSNorm kernels there (the cases and the check: RMSNORM_CASES and checkRmsNorm in
 * ../webgpu-cases.ts, which the Chromium check runs too). Without a WebGPU adapter the tests are skipped at
 * run time with a warning, never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { kernelFor } from '../../../../src/lib/model/kernels/registry';
import { expectRowsOk, webgpuOrSkip } from '../webgpu-helpers';
import { checkRmsNorm, RMSNORM_CASES } from '../webgpu-cases';

let gpu = false;
beforeAll(async () => {
  gpu = await webgpuOrSkip('rmsnorm');
});
afterAll(() => tf.setBackend('cpu'));

describe('RMSNorm kernel on webgpu', () => {
  for (const c of RMSNORM_CASES)
    it(`values and dx = the reference path (${c.label})`, async (ctx) => {
      if (!gpu) return ctx.skip();
      expect(kernelFor('rmsnorm')).toBe('kernel');
      expectRowsOk(await checkRmsNorm(c));
    });
});
