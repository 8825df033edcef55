/**
 * The RoPE kernel on WebGPU (src/lib/model/kernels/rope/webgpu.ts, Dawn on SwiftShader in Node) against the
 * reference path on the same backend: values and the gradient for x, both pairings, a tail past whole
 * workgroups and a position offset; and that applyRope() runs it as the CloLabRope kernel there (the cases and
 * the check: ROPE_CASES and checkRope in ../webgpu-cases.ts, which the Chromium check runs too). Without a
 * WebGPU adapter the tests are skipped at run time with a warning, never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { kernelFor } from '../../../../src/lib/model/kernels/registry';
import { expectRowsOk, webgpuOrSkip } from '../webgpu-helpers';
import { checkRope, ROPE_CASES } from '../webgpu-cases';

let gpu = false;
beforeAll(async () => {
  gpu = await webgpuOrSkip('rope');
});
afterAll(() => tf.setBackend('cpu'));

describe('RoPE kernel on webgpu', () => {
  for (const c of ROPE_CASES)
    it(`values and dx = the reference path (${c.label})`, async (ctx) => {
      if (!gpu) return ctx.skip();
      expect(kernelFor('rope')).toBe('kernel');
      expectRowsOk(await checkRope(c));
    });
});
