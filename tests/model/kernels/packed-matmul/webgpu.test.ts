/**
 * packedMatMul (src/lib/model/kernels/packed-matmul/packed-matmul.ts) on the WebGPU backend (Node, Dawn on
 * SwiftShader; docs/webgpu-here.md): the WGSL kernels (webgpu-op.ts) against the reference path (W
 * dequantised, tf.matMul), values and the gradient for x through tf.grads, int8 and f16, on shapes with
 * tails (not multiples of the 16 × 16 tile; int8 rows that straddle 4-byte words). Without a WebGPU
 * adapter the test is skipped with a warning, never passed silently.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { enableNodeWebgpu } from '../../../../cli/node-env';
import { installLabKernels } from '../../../../src/lib/model/kernels/install';
import { kernelFor } from '../../../../src/lib/model/kernels/registry';
import { packMatrix } from '../../../../src/lib/model/kernels/packed-matmul/pack';
import {
  packedMatMul,
  referencePackedMatMul,
  releasePacked,
} from '../../../../src/lib/model/kernels/packed-matmul/packed-matmul';

afterAll(async () => {
  await tf.setBackend('cpu');
});

/** max|a − b| / max|b| (read asynchronously: WebGPU in Node has no synchronous readback). */
async function relDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const [d, m] = tf.tidy(() => [tf.max(tf.abs(tf.sub(a, b))), tf.max(tf.abs(b))]);
  const out = (await d.data())[0] / (await m.data())[0];
  tf.dispose([d, m]);
  return out;
}

const SHAPES = [
  [1, 5, 7],
  [3, 16, 19],
  [17, 33, 30],
] as const;

describe('packedMatMul on WebGPU', () => {
  it.for(['int8', 'f16'] as const)('%s: kernel = reference (values and dx)', async (fmt, ctx) => {
    if (!(await enableNodeWebgpu())) {
      console.warn('packed-matmul webgpu: SKIPPED: no WebGPU adapter in this Node (see docs/webgpu-here.md)');
      ctx.skip();
    }
    expect(await tf.setBackend('webgpu')).toBe(true);
    installLabKernels('webgpu');
    expect(kernelFor('packed-matmul')).toBe('kernel');
    for (const [M, N, K] of SHAPES) {
      const w = tf.randomNormal([N, K], 0, 0.3, 'float32', 1);
      const p = packMatrix((await w.data()) as Float32Array, N, K, fmt);
      const x = tf.randomNormal([M, K], 0, 1, 'float32', 2) as tf.Tensor2D;
      const r = tf.randomNormal([M, N], 0, 1, 'float32', 3);
      const loss = (f: typeof packedMatMul) => (xi: tf.Tensor) => tf.sum(tf.mul(f(xi as tf.Tensor2D, p), r));
      let got: tf.Tensor[] = [];
      const prof = await tf.profile(() => {
        got = tf.grads(loss(packedMatMul))([x]);
      });
      expect(prof.kernels.map((k) => k.name)).toEqual(
        expect.arrayContaining(['CloLabPackedMatMul', 'CloLabPackedMatMulGradX']),
      );
      const want = tf.grads(loss(referencePackedMatMul))([x]);
      const y = packedMatMul(x, p);
      const yRef = referencePackedMatMul(x, p);
      const at = `${fmt} [${M}, ${N}, ${K}]`;
      expect(await relDiff(y, yRef), `${at}: y`).toBeLessThan(1e-5);
      expect(await relDiff(got[0], want[0]), `${at}: dx`).toBeLessThan(1e-5);
      // the kernel reads the packed matrix, not an f32 one: a wrong dequantisation is far off
      expect(await relDiff(yRef, tf.matMul(x, w, false, true)), `${at}: packing error`).toBeLessThan(
        fmt === 'f16' ? 1e-2 : 5e-2,
      );
      tf.dispose([w, x, r, y, yRef, ...got, ...want]);
      releasePacked(p);
    }
  });
});
