/**
 * The WebGPU attention kernel (src/lib/model/kernels/attention/webgpu.ts, WGSL in attention-wgsl.ts)
 * against the reference path (autodiff of the plain formula, on the cpu backend: compiling its many
 * shaders on SwiftShader would take most of a minute): values and the gradients of q, k, v through
 * attention() (pairs layout: one causal + padding bias shared by the pairs, rows and keys past one
 * workgroup and one key tile, not multiples of either) and attentionHeads() (the projections' layouts,
 * kv-groups G = 2, a per-pair padding bias, fully masked rows). One head dim (8), so the five
 * passes compile once. Without a WebGPU adapter every case is skipped at run time with a warning,
 * never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { enableNodeWebgpu } from '../../../../cli/node-env';
import { installLabKernels } from '../../../../src/lib/model/kernels/install';
import { kernelFor } from '../../../../src/lib/model/kernels/registry';
import { attention, attentionHeads, autodiffAttention } from '../../../../src/lib/model/kernels/attention/attention';
import { tileFor, WG } from '../../../../src/lib/model/kernels/attention/attention-wgsl';

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

/** Values and the gradients of sum(f(q, k, v)·w) (w given as the output's cotangent), read back. */
type Run = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor;

async function valuesAndGrads(
  backend: string,
  f: Run,
  shapes: number[][],
  data: Float32Array[],
): Promise<Float32Array[]> {
  expect(await tf.setBackend(backend)).toBe(true);
  const [q, k, v, w] = shapes.map((s, i) => tf.tensor(data[i], s));
  const out = f(q, k, v);
  const grads = tf.grads(f)([q, k, v], w);
  const res = await Promise.all([out, ...grads].map(async (t) => (await t.data()) as Float32Array));
  tf.dispose([q, k, v, w, out, ...grads]);
  return res;
}

const randn = (size: number, seed: number) =>
  tf.tidy(() => tf.randomNormal([size], 0, 1, 'float32', seed).dataSync() as Float32Array);

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Kernel on webgpu vs reference on cpu: outputs within 1e-5, gradients within 2e-5, none trivially 0. */
async function compare(kernel: Run, reference: Run, shapes: number[][], seed: number): Promise<void> {
  expect(await tf.setBackend('cpu')).toBe(true);
  const data = shapes.map((s, i) =>
    randn(
      s.reduce((x, y) => x * y),
      seed + i,
    ),
  );
  const want = await valuesAndGrads('cpu', reference, shapes, data);
  const got = await valuesAndGrads('webgpu', kernel, shapes, data);
  expect(maxAbsDiff(got[0], want[0])).toBeLessThan(1e-5);
  for (let i = 1; i < 4; i++) {
    expect(Math.max(...want[i].map(Math.abs))).toBeGreaterThan(1e-2);
    expect(maxAbsDiff(got[i], want[i])).toBeLessThan(2e-5);
  }
}

/**
 * A bias [pairs, G·T, S] (S = T) as an array: causal, and for pair p (with padFrom) keys s ≥ padFrom[p]
 * masked too; with maskRow0, query t = 0 of every group also loses key 0, so that row sees no key.
 */
function makeBias(n: number, G: number, T: number, padFrom: number[] | null, maskRow0 = false) {
  const S = T;
  const pairs = padFrom ? n : 1;
  const m = new Float32Array(pairs * G * T * S);
  for (let p = 0; p < pairs; p++)
    for (let g = 0; g < G; g++)
      for (let t = 0; t < T; t++)
        for (let s = 0; s < S; s++) {
          let b = s > t ? -1e9 : 0;
          if (padFrom && s >= padFrom[p]) b += -1e9;
          if (maskRow0 && t === 0 && s === 0) b = -1e9;
          m[((p * G + g) * T + t) * S + s] = b;
        }
  return { data: m, shape: [pairs, G * T, S] as [number, number, number] };
}

const HD = 8;

describe('the WebGPU attention kernel', () => {
  it('is registered and picked on webgpu; the key tiles fit workgroup memory', async (ctx) => {
    if (!gpu) return ctx.skip();
    expect(await tf.setBackend('webgpu')).toBe(true);
    expect(kernelFor('attention', { headDim: 8 })).toBe('kernel');
    expect(kernelFor('attention', { headDim: 6 })).toBe('kernel');
    for (const hd of [6, 8, 64, 128]) expect(2 * tileFor(hd) * hd * 4).toBeLessThanOrEqual(8192);
    expect([WG, tileFor(HD)]).toEqual([64, 64]);
  });

  it('attention(): shared causal + padding bias, tails past a workgroup and a key tile = the reference', async (ctx) => {
    if (!gpu) return ctx.skip();
    // rows G·T = 140 > one workgroup (64), keys 70 > one key tile (64 at hd 8), neither a multiple
    const [n, G, T] = [1, 2, 70];
    const scale = 1 / Math.sqrt(HD);
    const b = makeBias(n, G, T, [66]);
    const withBias =
      (f: typeof attention): Run =>
      (q, k, v) => {
        const bias = tf.tensor3d(b.data, b.shape);
        const out = f(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, bias, scale);
        return out;
      };
    const shapes = [
      [n, G * T, HD],
      [n, T, HD],
      [n, T, HD],
      [n, G * T, HD],
    ];
    await compare(withBias(attention), withBias(autodiffAttention), shapes, 1);
  });

  it('attentionHeads(): projections layouts, kv-groups, per-pair padding, fully masked rows = the reference', async (ctx) => {
    if (!gpu) return ctx.skip();
    const [B, T, H, Hkv] = [2, 5, 4, 2];
    const G = H / Hkv;
    const scale = 1 / Math.sqrt(HD);
    // row b's padding, tiled over its KV heads; query t = 0 of every head sees no key
    const b = makeBias(B * Hkv, G, T, [5, 5, 3, 3], true);
    // the reference path of model/forward.ts: fold the G query heads into the rows, attention, unfold
    const viaPairs: Run = (qq, kk, vv) => {
      const qg = tf.transpose(qq, [0, 2, 1, 3]).reshape([B * Hkv, G * T, HD]) as tf.Tensor3D;
      const kg = tf.transpose(kk, [0, 2, 1, 3]).reshape([B * Hkv, T, HD]) as tf.Tensor3D;
      const vg = tf.transpose(vv, [0, 2, 1, 3]).reshape([B * Hkv, T, HD]) as tf.Tensor3D;
      return autodiffAttention(qg, kg, vg, tf.tensor3d(b.data, b.shape), scale)
        .reshape([B, H, T, HD])
        .transpose([0, 2, 1, 3])
        .reshape([B * T, H * HD]);
    };
    const heads: Run = (qq, kk, vv) => {
      const out = attentionHeads(
        qq as tf.Tensor4D,
        kk as tf.Tensor4D,
        vv as tf.Tensor4D,
        tf.tensor3d(b.data, b.shape),
        scale,
      );
      expect(out).not.toBeNull();
      return out!;
    };
    const shapes = [
      [B, T, H, HD],
      [B, T, Hkv, HD],
      [B, T, Hkv, HD],
      [B * T, H * HD],
    ];
    await compare(heads, viaPairs, shapes, 5);
  });
});
