/**
 * The residual add fused with RMSNorm on WebGPU (src/lib/model/kernels/add-rmsnorm/webgpu.ts, Dawn on
 * SwiftShader in Node) against its reference path (addSame, then the RMSNorm reference) on the same backend:
 * the sum, the norm and the gradients of both addends, with the sum used further and without, on rows
 * shorter than the workgroup (64), longer with a tail, and many rows (the cases and the check:
 * ADD_RMSNORM_CASES and checkAddRmsNorm in ../webgpu-cases.ts, which the Chromium check runs too). Without a
 * WebGPU adapter the tests are skipped at run time with a warning, never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { kernelFor } from '../../../../src/lib/model/kernels/registry';
import { expectRowsOk, webgpuOrSkip } from '../webgpu-helpers';
import { ADD_RMSNORM_CASES, checkAddRmsNorm } from '../webgpu-cases';

let gpu = false;
beforeAll(async () => {
  gpu = await webgpuOrSkip('add-rmsnorm');
});
afterAll(() => tf.setBackend('cpu'));

describe('the residual add fused with RMSNorm on webgpu', () => {
  for (const c of ADD_RMSNORM_CASES)
    it(`sum, norm, da, db = the reference path (${c.label})`, async (ctx) => {
      if (!gpu) return ctx.skip();
      expect(kernelFor('add-rmsnorm')).toBe('kernel');
      expectRowsOk(await checkAddRmsNorm(c));
    });
});
