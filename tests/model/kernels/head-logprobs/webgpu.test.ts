/**
 * The head log-probs' fused log-softmax and target pick on WebGPU (src/lib/model/kernels/head-logprobs/webgpu.ts,
 * Dawn on SwiftShader in Node): headLogprobs on webgpu (tfjs's products, one kernel per block of logits each
 * way) against headLogprobs on the cpu backend (the reference's tfjs ops): log-probs and d h, with rows past
 * one workgroup, a target outside the vocabulary (log-prob 0, as the reference's all-zero one-hot row gives),
 * and vocabulary and row blocks (the running log-sum-exp across blocks). The cases and the check:
 * HEAD_LOGPROBS_CASES and checkHeadLogprobs in ../webgpu-cases.ts, which the Chromium check runs too. Without a
 * WebGPU adapter the cases are skipped at run time with a warning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { kernelFor } from '../../../../src/lib/model/kernels/registry';
import { expectRowsOk, webgpuOrSkip } from '../webgpu-helpers';
import { checkHeadLogprobs, HEAD_LOGPROBS_CASES } from '../webgpu-cases';

let gpu = false;
beforeAll(async () => {
  gpu = await webgpuOrSkip('head log-probs');
});
afterAll(() => tf.setBackend('cpu'));

describe('the WebGPU head log-probs kernels', () => {
  it('are picked on webgpu, not on cpu', async (ctx) => {
    if (!gpu) return ctx.skip();
    expect(await tf.setBackend('webgpu')).toBe(true);
    expect(kernelFor('head-logprobs')).toBe('kernel');
    expect(await tf.setBackend('cpu')).toBe(true);
    expect(kernelFor('head-logprobs')).toBe('reference');
  });

  for (const c of HEAD_LOGPROBS_CASES)
    it(`= the reference path: log-probs and their gradient (${c.label})`, async (ctx) => {
      if (!gpu) return ctx.skip();
      expectRowsOk(await checkHeadLogprobs(c));
    });
});
