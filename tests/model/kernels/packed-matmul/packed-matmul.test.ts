/**
 * packedMatMul (src/lib/model/kernels/packed-matmul/packed-matmul.ts) on the wasm backend: the kernel
 * path (CloLabPackedMatMul and its GradX, relaxed-SIMD and plain-SIMD builds) against the reference
 * path (W dequantised, tf.matMul), values and the gradient for x through tf.grads, int8 and f16, on
 * shapes with tails; and the kernel registry's choice (reference when forced, on cpu).
 */
import v8 from 'node:v8';
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installLabKernels } from '../../../../src/lib/model/kernels/install';
import { forceReference, kernelFor } from '../../../../src/lib/model/kernels/registry';
import { packMatrix } from '../../../../src/lib/model/kernels/packed-matmul/pack';
import {
  packedMatMul,
  referencePackedMatMul,
  releasePacked,
} from '../../../../src/lib/model/kernels/packed-matmul/packed-matmul';
import { packedMatMulSimd, setPackedMatMulSimd } from '../../../../src/lib/model/kernels/packed-matmul/wasm-op';

// Node 20 validates relaxed SIMD only behind this flag (the CLI launcher passes it); set before any compile
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
installLabKernels('wasm');

afterAll(async () => {
  setPackedMatMulSimd(null);
  await tf.setBackend('cpu');
});

function relDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / tf.max(tf.abs(b)).dataSync()[0]);
}

const SHAPES = [
  [1, 5, 7],
  [3, 16, 19],
  [17, 30, 33],
  [9, 261, 270],
] as const;

describe.each(['relaxed', 'plain'] as const)('packedMatMul on wasm, %s SIMD', (simd) => {
  it.each(['int8', 'f16'] as const)('%s: kernel = reference (values and dx)', async (fmt) => {
    expect(await tf.setBackend('wasm')).toBe(true);
    setPackedMatMulSimd(simd);
    expect(packedMatMulSimd()).toBe(simd);
    expect(kernelFor('packed-matmul')).toBe('kernel');
    for (const [M, N, K] of SHAPES) {
      const w = tf.randomNormal([N, K], 0, 0.3, 'float32', 1);
      const p = packMatrix(w.dataSync() as Float32Array, N, K, fmt);
      const x = tf.randomNormal([M, K], 0, 1, 'float32', 2) as tf.Tensor2D;
      const r = tf.randomNormal([M, N], 0, 1, 'float32', 3);
      const loss = (f: typeof packedMatMul) => (xi: tf.Tensor) => tf.sum(tf.mul(f(xi as tf.Tensor2D, p), r));
      let got: tf.Tensor[] = [];
      const prof = await tf.profile(() => {
        got = tf.grads(loss(packedMatMul))([x]);
      });
      const names = prof.kernels.map((k) => k.name);
      expect(names).toEqual(expect.arrayContaining(['CloLabPackedMatMul', 'CloLabPackedMatMulGradX']));
      const want = tf.grads(loss(referencePackedMatMul))([x]);
      const y = packedMatMul(x, p);
      const yRef = referencePackedMatMul(x, p);
      expect(y.shape).toEqual([M, N]);
      expect(relDiff(y, yRef), `y [${M}, ${N}, ${K}]`).toBeLessThan(1e-5);
      expect(got[0].shape).toEqual([M, K]);
      expect(relDiff(got[0], want[0]), `dx [${M}, ${N}, ${K}]`).toBeLessThan(1e-5);
      // the packed product stays near the f32 one (packing error only)
      const full = tf.matMul(x, w, false, true);
      expect(relDiff(y, full)).toBeLessThan(fmt === 'int8' ? 3e-2 : 2e-3);
      releasePacked(p);
      tf.dispose([w, x, r, y, yRef, full, ...got, ...want]);
    }
  });
});

describe('packedMatMul path choice', () => {
  it('reference when forced on wasm, and on cpu (same numbers as the kernel)', async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    setPackedMatMulSimd(null);
    const w = tf.randomNormal([6, 9], 0, 1, 'float32', 4);
    const p = packMatrix(w.dataSync() as Float32Array, 6, 9, 'int8');
    const x = tf.randomNormal([2, 9], 0, 1, 'float32', 5) as tf.Tensor2D;
    const viaKernel = packedMatMul(x, p).arraySync();
    forceReference('packed-matmul');
    try {
      expect(kernelFor('packed-matmul')).toBe('reference');
      const prof = await tf.profile(() => packedMatMul(x, p));
      expect(prof.kernels.map((k) => k.name)).not.toContain('CloLabPackedMatMul');
    } finally {
      forceReference('packed-matmul', false);
    }
    const xs = x.arraySync();
    await tf.setBackend('cpu');
    expect(kernelFor('packed-matmul')).toBe('reference');
    const onCpu = packedMatMul(tf.tensor2d(xs), p).arraySync();
    onCpu.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(viaKernel[i][j], 5)));
    releasePacked(p);
  });
});
