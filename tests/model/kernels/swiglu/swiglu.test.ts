/**
 * The SwiGLU kernel (src/lib/model/kernels/swiglu/swiglu.wat via wasm-op.ts, which swiglu() takes where
 * the kernel registry says so: wasm) against tfjs autodiff of g·sigmoid(g)·u: values and both gradients, on shapes whose size is not a
 * multiple of 4 (the one-lane tail), with large |g| (σ saturating to 0 and 1); and that it runs as the
 * CloLabSwiGLU kernels. Also: the generated module matches a fresh compile of swiglu.wat.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { referenceSwiglu, swiglu } from '../../../../src/lib/model/kernels/swiglu/swiglu';
import { wasmBytes } from '../../../../src/lib/model/kernels/swiglu/swiglu-wasm';
import { installLabKernels } from '../../../../src/lib/model/kernels/install';
import { compileWat, generatedModule, KERNEL_DIR } from '../../../../scripts/build-kernels';

installLabKernels('wasm');

afterAll(async () => {
  await tf.setBackend('cpu');
});

const plain = (g: tf.Tensor, u: tf.Tensor) => tf.mul(tf.mul(g, tf.sigmoid(g)), u);

/** max |a − b| / max(1, max |b|) */
function relDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / Math.max(1, tf.max(tf.abs(b)).dataSync()[0]));
}

describe('SwiGLU kernel on wasm', () => {
  it.each([
    ['[7, 13] (tail of 3)', 7, 13, 2],
    ['[64, 172]', 64, 172, 3],
    ['[3, 5], large |g| (σ saturates)', 3, 5, 60],
  ] as const)('values and grads = autodiff of g·σ(g)·u (%s)', async (_, N, H, spread) => {
    expect(await tf.setBackend('wasm')).toBe(true);
    const g = tf.randomNormal([N, H], 0, spread, 'float32', 5) as tf.Tensor2D;
    const u = tf.randomNormal([N, H], 0, 1, 'float32', 6) as tf.Tensor2D;
    const w = tf.randomNormal([N, H], 0, 1, 'float32', 7);
    const loss = (f: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor) => (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(f(a as tf.Tensor2D, b as tf.Tensor2D), w));
    let got: tf.Tensor[] = [];
    const prof = await tf.profile(() => {
      got = tf.grads(loss(swiglu))([g, u]);
    });
    expect(prof.kernels.map((k) => k.name)).toEqual(expect.arrayContaining(['CloLabSwiGLU', 'CloLabSwiGLUGrad']));
    const want = tf.grads(loss(plain))([g, u]);
    expect(relDiff(swiglu(g, u), plain(g, u))).toBeLessThan(2e-6);
    want.forEach((x, i) => {
      expect(tf.max(tf.abs(x)).dataSync()[0]).toBeGreaterThan(1e-2);
      expect(relDiff(got[i], x)).toBeLessThan(2e-6);
    });
    // the reference path (tf ops) is what other backends run: the same numbers
    const ops = tf.grads(loss(referenceSwiglu))([g, u]);
    ops.forEach((x, i) => expect(relDiff(got[i], x)).toBeLessThan(2e-6));
    tf.dispose([g, u, w, ...got, ...want, ...ops]);
  });
});

describe('generated swiglu bytes', () => {
  it('match a fresh compile of swiglu.wat', async () => {
    const src = readFileSync(resolve(KERNEL_DIR, 'swiglu/swiglu.wat'), 'utf8');
    const bytes = await compileWat('swiglu.wat', src);
    const shared = await compileWat('swiglu.wat', src, true);
    expect(Buffer.from(wasmBytes()).equals(Buffer.from(bytes))).toBe(true);
    expect(readFileSync(resolve(KERNEL_DIR, 'swiglu/swiglu-wasm.ts'), 'utf8')).toBe(
      generatedModule('swiglu.wat', bytes, shared),
    );
  });
});
