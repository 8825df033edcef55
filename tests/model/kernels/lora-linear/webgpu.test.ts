/**
 * The fused LoRA linear on WebGPU (src/lib/model/kernels/lora-linear/webgpu.ts, Dawn on SwiftShader in
 * Node) against its reference path on the same backend: y and the gradients dx, dA, dB, for ranks 1, 2,
 * 8 and 20 (the forward's one- and two-dispatch forms), with and without bias, W as f32 and packed
 * (f16, int8), under dropout on the adapter's input, on shapes past one 16 × 16 tile with tails, and
 * with dA spanning more than one workgroup (r·in > 256). Also: loraLinear runs the CloLabLoraLinear
 * kernels there, and forceReference turns them off. Without a WebGPU adapter the tests are skipped at
 * run time with a warning, never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import {
  loraLinear,
  referenceLoraLinear,
  type LoraApply,
} from '../../../../src/lib/model/kernels/lora-linear/lora-linear';
import { forceReference, kernelFor } from '../../../../src/lib/model/kernels/registry';
import { packMatrix } from '../../../../src/lib/model/kernels/packed-matmul/pack';
import { PackedWeight } from '../../../../src/lib/model/kernels/packed-matmul/packed-matmul';
import type { Linear } from '../../../../src/lib/model/weights';
import type { LoraPair } from '../../../../src/lib/model/adapter';
import { gradsOn, maxAbs, relDiff, webgpuOrSkip } from '../webgpu-helpers';

let gpu = false;
beforeAll(async () => {
  gpu = await webgpuOrSkip('lora-linear');
});
afterAll(() => tf.setBackend('cpu'));

type Fmt = 'f32' | 'f16' | 'int8';

interface Case {
  label: string;
  N: number;
  inF: number;
  outF: number;
  r: number;
  bias: boolean;
  fmt: Fmt;
  dropout?: number;
}

const CASES: Case[] = [
  { label: 'tails past one tile, rank 1', N: 17, inF: 19, outF: 18, r: 1, bias: false, fmt: 'f32' },
  { label: 'f16 W, rank 8, bias, r·in > 256', N: 18, inF: 40, outF: 20, r: 8, bias: true, fmt: 'f16' },
  { label: 'int8 W, rank 2', N: 5, inF: 22, outF: 17, r: 2, bias: false, fmt: 'int8' },
  { label: 'dropout, rank 8, bias', N: 9, inF: 17, outF: 19, r: 8, bias: true, fmt: 'f32', dropout: 0.3 },
  // d in a dispatch of its own (above rank 16; int8 with dropout and bias would bind 9 buffers)
  { label: 'int8 W, rank 20, dropout, bias', N: 6, inF: 13, outF: 10, r: 20, bias: true, fmt: 'int8', dropout: 0.5 },
];

describe('LoRA linear kernel on webgpu', () => {
  for (const c of CASES)
    it(`values and dx, dA, dB = the reference path (${c.label})`, async (ctx) => {
      if (!gpu) return ctx.skip();
      expect(kernelFor('lora-linear')).toBe('kernel');
      const { N, inF, outF, r } = c;
      const wf = tf.randomNormal([outF, inF], 0, 0.3, 'float32', 1) as tf.Tensor2D;
      const packed =
        c.fmt === 'f32' ? null : new PackedWeight(packMatrix((await wf.data()) as Float32Array, outF, inF, c.fmt));
      const lin: Linear = {
        w: packed ?? wf,
        b: c.bias ? (tf.randomNormal([outF], 0, 1, 'float32', 2) as tf.Tensor1D) : undefined,
      };
      const x = tf.randomNormal([N, inF], 0, 1, 'float32', 3) as tf.Tensor2D;
      const A = tf.randomNormal([r, inF], 0, 0.5, 'float32', 4) as tf.Tensor2D;
      const B = tf.randomNormal([outF, r], 0, 0.5, 'float32', 5) as tf.Tensor2D;
      const R = tf.randomNormal([N, outF], 0, 1, 'float32', 6);
      const apply = (a: tf.Tensor, b: tf.Tensor): LoraApply => ({
        pair: { A: a, B: b } as unknown as LoraPair,
        scale: 16 / r,
        dropout: c.dropout ?? 0,
        seed: 7,
      });
      type F = typeof loraLinear;
      const fwd = (f: F) => (xi: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => f(xi as tf.Tensor2D, lin, apply(a, b));
      const loss = (f: F) => (xi: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(fwd(f)(xi, a, b), R));
      const { value, grads, kernels } = await gradsOn(loss(loraLinear), [x, A, B], fwd(loraLinear));
      expect(kernels).toEqual(expect.arrayContaining(['CloLabLoraLinear', 'CloLabLoraLinearGrad']));
      const want = tf.grads(loss(referenceLoraLinear))([x, A, B]);
      const wantValue = fwd(referenceLoraLinear)(x, A, B);
      expect(await relDiff(value, wantValue), 'y').toBeLessThan(1e-5);
      for (const [i, name] of ['dx', 'dA', 'dB'].entries()) {
        expect(await maxAbs(want[i]), name).toBeGreaterThan(1e-2);
        expect(await relDiff(grads[i], want[i]), name).toBeLessThan(1e-5);
      }
      tf.dispose([wf, x, A, B, R, value, wantValue, ...grads, ...want]);
      lin.b?.dispose();
      packed?.dispose();
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
