/**
 * The WebGPU attention kernel with RoPE folded in (attentionHeads with the rope tables: the kernel rotates q
 * and k as it loads them and rotates dq, dk back) against referenceRope + the reference attention on the cpu
 * backend: values and the gradients of the unrotated q, k and of v, both pairings, kv-groups, per-pair
 * padding, fully masked rows, a position offset; and that CloLabRope did not run (the
 * cases with `rope` in ATTENTION_CASES, ../webgpu-cases.ts, which the Chromium check runs too). Without a
 * WebGPU adapter every case is skipped at run time with a warning, never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { kernelFor } from '../../../../src/lib/model/kernels/registry';
import { expectRowsOk, webgpuOrSkip } from '../webgpu-helpers';
import { ATTENTION_CASES, checkAttention } from '../webgpu-cases';

let gpu = false;
beforeAll(async () => {
  gpu = await webgpuOrSkip('attention with RoPE');
});
afterAll(() => tf.setBackend('cpu'));

describe('the WebGPU attention kernel with RoPE folded in', () => {
  it('is picked on webgpu for even head dims', async (ctx) => {
    if (!gpu) return ctx.skip();
    expect(kernelFor('attention', { headDim: 8, rope: true })).toBe('kernel');
    expect(kernelFor('attention', { headDim: 7, rope: true })).toBe('reference');
  });

  for (const c of ATTENTION_CASES.filter((x) => x.rope))
    it(`${c.label} = the reference`, async (ctx) => {
      if (!gpu) return ctx.skip();
      expectRowsOk(await checkAttention(c));
    });
});
