/**
 * The WebGPU head log-probs kernel (src/lib/model/kernels/head-logprobs/webgpu.ts) against the reference
 * path (headLogprobs of src/lib/model/logprobs.ts on the cpu backend): log-probs and d h, with tails
 * (vocabulary and head dim past one workgroup of 64, neither a multiple) and a target outside the
 * vocabulary (log-prob 0, as the reference's all-zero one-hot row gives). headLogprobs itself takes the
 * kernel on webgpu once it is registered. The cases and the check: HEAD_LOGPROBS_CASES and checkHeadLogprobs
 * in ../webgpu-cases.ts, which the Chromium check runs too. Without a WebGPU adapter the cases are skipped
 * at run time with a warning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { enableNodeWebgpu } from '../../../../cli/node-env';
import { registerWebGPUHeadLogprobs } from '../../../../src/lib/model/kernels/head-logprobs/webgpu';
import { kernelFor } from '../../../../src/lib/model/kernels/registry';
import { expectRowsOk } from '../webgpu-helpers';
import { checkHeadLogprobs, HEAD_LOGPROBS_CASES } from '../webgpu-cases';

let gpu = false;

beforeAll(async () => {
  gpu = await enableNodeWebgpu();
  if (!gpu)
    console.warn(
      'webgpu head log-probs kernel: SKIPPED: no WebGPU adapter in this Node (Dawn found no Vulkan driver; see docs/webgpu-here.md)',
    );
  else registerWebGPUHeadLogprobs(); // not installed by installLabKernels (see its doc)
});

afterAll(() => tf.setBackend('cpu'));

describe('the WebGPU head log-probs kernel', () => {
  it('is picked on webgpu once registered, not on cpu', async (ctx) => {
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
