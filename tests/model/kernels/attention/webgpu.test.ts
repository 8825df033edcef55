/**
 * The WebGPU attention kernel (src/lib/model/kernels/attention/webgpu.ts, WGSL in attention-wgsl.ts)
 * against the reference path (autodiff of the plain formula, on the cpu backend: compiling its many
 * shaders on SwiftShader would take most of a minute): values and the gradients of q, k, v through
 * attention() (pairs layout: one causal + padding bias shared by the pairs, rows and keys past one
 * workgroup and one key tile, not multiples of either) and attentionHeads() (the projections' layouts,
 * kv-groups G = 2, a per-pair padding bias, fully masked rows). One head dim (8), so the three
 * passes compile once. The cases with RoPE folded in: webgpu-rope.test.ts. The cases and the check: ATTENTION_CASES and checkAttention in ../webgpu-cases.ts,
 * which the Chromium check runs too. Without a WebGPU adapter every case is skipped at run time with a
 * warning, never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { enableNodeWebgpu } from '../../../../cli/node-env';
import { installLabKernels } from '../../../../src/lib/model/kernels/install';
import { kernelFor } from '../../../../src/lib/model/kernels/registry';
import { tileFor, WG } from '../../../../src/lib/model/kernels/attention/attention-wgsl';
import { expectRowsOk } from '../webgpu-helpers';
import { ATTENTION_CASES, ATTENTION_HD, checkAttention } from '../webgpu-cases';

let gpu = false;

beforeAll(async () => {
  gpu = await enableNodeWebgpu();
  if (!gpu)
    console.warn(
      'webgpu attention kernel: SKIPPED: no WebGPU adapter in this Node (Dawn found no Vulkan driver; see docs/webgpu-here.md)',
    );
  else installLabKernels('webgpu');
});

afterAll(() => tf.setBackend('cpu'));

describe('the WebGPU attention kernel', () => {
  it('is registered and picked on webgpu; the key tiles fit workgroup memory', async (ctx) => {
    if (!gpu) return ctx.skip();
    expect(await tf.setBackend('webgpu')).toBe(true);
    expect(kernelFor('attention', { headDim: 8 })).toBe('kernel');
    expect(kernelFor('attention', { headDim: 6 })).toBe('kernel');
    for (const hd of [6, 8, 64, 128]) expect(2 * tileFor(hd) * hd * 4).toBeLessThanOrEqual(8192);
    expect([WG, tileFor(ATTENTION_HD)]).toEqual([64, 64]);
  });

  for (const c of ATTENTION_CASES.filter((x) => !x.rope))
    it(`${c.label} = the reference`, async (ctx) => {
      if (!gpu) return ctx.skip();
      expectRowsOk(await checkAttention(c));
    });
});
