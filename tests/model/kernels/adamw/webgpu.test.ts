/**
 * The AdamW kernel on WebGPU (src/lib/model/kernels/adamw/webgpu.ts, Dawn on SwiftShader in Node)
 * against the reference path on the same backend: p, m and v after two steps (the second one with
 * moments that no longer reduce to sign(g)), with a scalar rate and weight decay, with a per-element
 * rate, with the clip scale as a tensor and as a number; lengths not a multiple of the workgroup size
 * (256). And that one step is one dispatch of CloLabAdamW. The cases and the check: ADAMW_CASES and
 * checkAdamw in ../webgpu-cases.ts, which the Chromium check runs too. Without a WebGPU adapter the tests
 * are skipped at run time with a warning, never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { kernelFor } from '../../../../src/lib/model/kernels/registry';
import { expectRowsOk, webgpuOrSkip } from '../webgpu-helpers';
import { ADAMW_CASES, checkAdamw } from '../webgpu-cases';

let gpu = false;
beforeAll(async () => {
  gpu = await webgpuOrSkip('adamw');
});
afterAll(() => tf.setBackend('cpu'));

describe('AdamW kernel on webgpu', () => {
  for (const c of ADAMW_CASES)
    it(`p, m, v after two steps = the reference path (${c.label})`, async (ctx) => {
      if (!gpu) return ctx.skip();
      expect(kernelFor('adamw')).toBe('kernel');
      expectRowsOk(await checkAdamw(c));
    });
});
