/**
 * The AdamW kernel on WebGPU (src/lib/model/kernels/adamw/webgpu.ts, Dawn on SwiftShader in Node)
 * against the reference path on the same backend: p, m and v after two steps (the second one with
 * moments that no longer reduce to sign(g)), with a scalar rate and weight decay, with a per-element
 * rate, with the clip scale as a tensor and as a number; lengths not a multiple of the workgroup size
 * (256). And that one step is one dispatch of CloLabAdamW. Without a WebGPU adapter the tests are
 * skipped at run time with a warning, never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { adamwUpdate, referenceAdamw, type AdamwConstants } from '../../../../src/lib/model/kernels/adamw/adamw';
import { kernelFor } from '../../../../src/lib/model/kernels/registry';
import { maxAbs, relDiff, webgpuOrSkip } from '../webgpu-helpers';

let gpu = false;
beforeAll(async () => {
  gpu = await webgpuOrSkip('adamw');
});
afterAll(() => tf.setBackend('cpu'));

const constants = (t: number, weightDecay: number): AdamwConstants => ({
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  bc1: 1 - 0.9 ** t,
  bc2: 1 - 0.999 ** t,
  weightDecay,
});

describe('AdamW kernel on webgpu', () => {
  const cases = [
    ['n = 1000 (tail of 232), scalar rate, decay 0.01, clip a tensor', 1000, 'scalar', 0.01, 'tensor'],
    ['n = 5, per-element rate, decay 0.1, clip a number', 5, 'vector', 0.1, 'number'],
    ['n = 300, scalar rate, no decay', 300, 'scalar', 0, 'number'],
  ] as const;
  for (const [label, n, rateKind, decay, clipKind] of cases)
    it(`p, m, v after two steps = the reference path (${label})`, async (ctx) => {
      if (!gpu) return ctx.skip();
      expect(kernelFor('adamw')).toBe('kernel');
      const p0 = tf.randomNormal([n], 0, 1, 'float32', 1) as tf.Tensor1D;
      const rate = rateKind === 'scalar' ? 1e-2 : (tf.randomUniform([n], 1e-3, 1e-2, 'float32', 2) as tf.Tensor1D);
      const clip = clipKind === 'tensor' ? tf.scalar(0.5) : 0.7;
      let kern = { p: p0, m: tf.zeros([n]) as tf.Tensor1D, v: tf.zeros([n]) as tf.Tensor1D };
      let ref = { ...kern };
      for (let t = 1; t <= 2; t++) {
        const g = tf.randomNormal([n], 0, 1, 'float32', 10 + t) as tf.Tensor1D;
        const prof = await tf.profile(() => {
          kern = adamwUpdate({ ...kern, g }, rate, clip, constants(t, decay));
        });
        const kernels = prof.kernels.map((k) => k.name);
        expect(kernels.filter((k) => k === 'CloLabAdamW')).toHaveLength(1);
        ref = referenceAdamw({ ...ref, g }, rate, clip, constants(t, decay));
        g.dispose();
      }
      expect(await maxAbs(tf.sub(ref.p, p0))).toBeGreaterThan(1e-3);
      expect(await relDiff(kern.m, ref.m)).toBeLessThan(1e-6);
      expect(await relDiff(kern.v, ref.v)).toBeLessThan(1e-6);
      // the step itself (p − p0), relative to its size: ~lr, so compare it rather than p
      const dk = tf.sub(kern.p, p0);
      const dr = tf.sub(ref.p, p0);
      const diff = tf.sub(dk, dr);
      expect((await maxAbs(diff)) / (await maxAbs(dr))).toBeLessThan(1e-5);
      tf.dispose([p0, dk, dr, diff, kern.p, kern.m, kern.v, ref.p, ref.m, ref.v]);
      if (typeof rate !== 'number') rate.dispose();
      if (typeof clip !== 'number') clip.dispose();
    });
});
