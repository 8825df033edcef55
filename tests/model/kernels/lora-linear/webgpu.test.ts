/**
 * The fused LoRA linear on WebGPU (src/lib/model/kernels/lora-linear/webgpu.ts, Dawn on SwiftShader in
 * Node) against its reference path: y and the gradients dx, dA, dB, for ranks 1, 2, 8 and 20 (the
 * forward's one- and two-dispatch forms), with and without bias, W as f32 and packed (f16, int8), under
 * dropout on the adapter's input, on shapes past one 16 × 16 tile with tails, and with dA spanning more
 * than one workgroup (r·in > 256); each case also fails where the CloLabLoraLinear kernels did not run
 * (the cases and the check: LORA_LINEAR_CASES and checkLoraLinear in ../webgpu-cases.ts, which the
 * Chromium check runs too). A group of linears reading one x (loraLinears: a layer's q, k, v) against the
 * reference per item, with x's gradient summed inside the backward kernels (no Add). Also: forceReference turns the kernels off. Without a WebGPU adapter the
 * tests are skipped at run time with a warning, never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { loraLinear, type LoraApply } from '../../../../src/lib/model/kernels/lora-linear/lora-linear';
import { forceReference, kernelFor } from '../../../../src/lib/model/kernels/registry';
import type { Linear } from '../../../../src/lib/model/weights';
import type { LoraPair } from '../../../../src/lib/model/adapter';
import { expectRowsOk, webgpuOrSkip } from '../webgpu-helpers';
import { checkLoraLinear, checkLoraLinearGroup, LORA_LINEAR_CASES, LORA_LINEAR_GROUP_CASES } from '../webgpu-cases';

let gpu = false;
beforeAll(async () => {
  gpu = await webgpuOrSkip('lora-linear');
});
afterAll(() => tf.setBackend('cpu'));

describe('LoRA linear kernel on webgpu', () => {
  for (const c of LORA_LINEAR_CASES)
    it(`values and dx, dA, dB = the reference path (${c.label})`, async (ctx) => {
      if (!gpu) return ctx.skip();
      expect(kernelFor('lora-linear')).toBe('kernel');
      expectRowsOk(await checkLoraLinear(c));
    });

  for (const c of LORA_LINEAR_GROUP_CASES)
    it(`a group reading one x: values and gradients = the reference per item, dx summed in the kernels (${c.label})`, async (ctx) => {
      if (!gpu) return ctx.skip();
      expectRowsOk(await checkLoraLinearGroup(c));
    });

  it('forceReference turns the kernel off', async (ctx) => {
    if (!gpu) return ctx.skip();
    const lin: Linear = { w: tf.randomNormal([6, 4], 0, 1, 'float32', 1) as tf.Tensor2D };
    const x = tf.randomNormal([3, 4], 0, 1, 'float32', 2) as tf.Tensor2D;
    const pair = {
      A: tf.randomNormal([2, 4], 0, 1, 'float32', 3),
      B: tf.randomNormal([6, 2], 0, 1, 'float32', 4),
    } as unknown as LoraPair;
    const lora: LoraApply = { pair, scale: 2, dropout: 0 };
    forceReference('lora-linear');
    try {
      expect(kernelFor('lora-linear')).toBe('reference');
      const prof = await tf.profile(() => loraLinear(x, lin, lora));
      expect(prof.kernels.map((k) => k.name)).not.toContain('CloLabLoraLinear');
    } finally {
      forceReference('lora-linear', false);
    }
    tf.dispose([lin.w as tf.Tensor, x, pair.A, pair.B]);
  });
});
