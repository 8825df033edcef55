/**
 * The response-row kernels on WebGPU (src/lib/model/kernels/response-rows/webgpu.ts, Dawn on SwiftShader in
 * Node): gatherRows (its gradient put back in place by one kernel) and sequenceSums (one kernel, its gradient
 * a gather) against tf.gather and tf.unsortedSegmentSum with tfjs's gradients on the cpu backend, with an
 * empty sequence, rows left out and more rows and sequences than one workgroup (the cases and the check:
 * RESPONSE_ROWS_CASES and checkResponseRows in ../webgpu-cases.ts, which the Chromium check runs too). Without
 * a WebGPU adapter the tests are skipped at run time with a warning, never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { kernelFor } from '../../../../src/lib/model/kernels/registry';
import { expectRowsOk, webgpuOrSkip } from '../webgpu-helpers';
import { checkResponseRows, RESPONSE_ROWS_CASES } from '../webgpu-cases';

let gpu = false;
beforeAll(async () => {
  gpu = await webgpuOrSkip('response rows');
});
afterAll(() => tf.setBackend('cpu'));

describe('response-row kernels on webgpu', () => {
  for (const c of RESPONSE_ROWS_CASES)
    it(`sums and dx = tf.gather and tf.unsortedSegmentSum (${c.label})`, async (ctx) => {
      if (!gpu) return ctx.skip();
      expect(kernelFor('response-rows')).toBe('kernel');
      expectRowsOk(await checkResponseRows(c));
    });
});
