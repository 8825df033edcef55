/**
 * The gradient-statistics kernel on WebGPU (src/lib/model/kernels/grad-norm/webgpu.ts, Dawn on
 * SwiftShader in Node) against the reference path on the same backend: clip scale, norm and the two
 * finite flags for lengths below one workgroup, with a tail, and above 256 workgroups (each invocation
 * then strides over several elements); NaN, +Inf and −Inf placed in g and in p, at the first, a middle and
 * the last element. And that it runs as one kernel. Without a WebGPU adapter the tests are skipped at run
 * time with a warning, never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { gradNorm, referenceGradNorm } from '../../../../src/lib/model/kernels/grad-norm/grad-norm';
import { kernelFor } from '../../../../src/lib/model/kernels/registry';
import { mulberry32 } from '../../../../src/lib/model/sample';
import { webgpuOrSkip } from '../webgpu-helpers';

let gpu = false;
beforeAll(async () => {
  gpu = await webgpuOrSkip('grad-norm');
});
afterAll(() => tf.setBackend('cpu'));

/** g and p of length n (seeded), with `bad` values put at the given positions of g or p */
function vectors(n: number, bad: { in: 'g' | 'p'; at: number; value: number }[] = []) {
  const r = mulberry32(n);
  const g = Float32Array.from({ length: n }, () => (r() - 0.5) * 0.2);
  const p = Float32Array.from({ length: n }, () => r() * 2 - 1);
  for (const b of bad) (b.in === 'g' ? g : p)[b.at] = b.value;
  return { g: tf.tensor1d(g), p: tf.tensor1d(p) };
}

async function both(g: tf.Tensor1D, p: tf.Tensor1D, clipNorm: number) {
  let kern: tf.Tensor1D | null = null;
  const prof = await tf.profile(() => {
    kern = gradNorm(g, p, clipNorm);
  });
  const ref = referenceGradNorm(g, p, clipNorm);
  const out = { kern: Array.from(await kern!.data()), ref: Array.from(await ref.data()) };
  tf.dispose([kern!, ref]);
  return { ...out, kernels: prof.kernels.map((k) => k.name) };
}

describe('gradient statistics kernel on webgpu', () => {
  for (const [n, clipNorm] of [
    [5, 1],
    [1000, 0.5],
    [70_001, 1e6],
  ])
    it(`clip, norm and flags = the reference path (n = ${n}, clip at ${clipNorm})`, async (ctx) => {
      if (!gpu) return ctx.skip();
      expect(kernelFor('grad-norm')).toBe('kernel');
      const { g, p } = vectors(n);
      const { kern, ref, kernels } = await both(g, p, clipNorm);
      expect(kernels).toEqual(['CloLabGradNorm']);
      expect(Math.abs(kern[1] - ref[1]) / ref[1]).toBeLessThan(1e-5);
      expect(Math.abs(kern[0] - ref[0]) / ref[0]).toBeLessThan(1e-5);
      expect(kern.slice(2)).toEqual([1, 1]);
      expect(ref.slice(2)).toEqual([1, 1]);
      // the clip scale is 1 only where the norm is within clipNorm
      expect(kern[0] === 1).toBe(ref[1] <= clipNorm);
      tf.dispose([g, p]);
    });

  const n = 70_001;
  const cases = [
    ['NaN in g, last element', [{ in: 'g', at: n - 1, value: NaN }], [0, 1]],
    ['+Inf in g, first element', [{ in: 'g', at: 0, value: Infinity }], [0, 1]],
    ['NaN in p, a middle element', [{ in: 'p', at: 33_333, value: NaN }], [1, 0]],
    ['−Inf in p, last element', [{ in: 'p', at: n - 1, value: -Infinity }], [1, 0]],
    [
      'both',
      [
        { in: 'g', at: 65_536, value: -Infinity },
        { in: 'p', at: 7, value: Infinity },
      ],
      [0, 0],
    ],
  ] as const;
  for (const [label, bad, flags] of cases)
    it(`finite flags (g, p) = the reference path: ${label}`, async (ctx) => {
      if (!gpu) return ctx.skip();
      const { g, p } = vectors(n, bad as unknown as { in: 'g' | 'p'; at: number; value: number }[]);
      const { kern, ref } = await both(g, p, 1);
      expect(ref.slice(2)).toEqual(flags);
      expect(kern.slice(2)).toEqual(flags);
      // a non-finite gradient makes the norm non-finite; finite gradients keep it finite
      expect(Number.isFinite(kern[1])).toBe(flags[0] === 1);
      tf.dispose([g, p]);
    });
});
