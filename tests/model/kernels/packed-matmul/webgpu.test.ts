/**
 * packedMatMul (src/lib/model/kernels/packed-matmul/packed-matmul.ts) on the WebGPU backend (Node, Dawn on
 * SwiftShader; docs/webgpu-here.md): the WGSL kernels (webgpu-op.ts) against the reference path (W
 * dequantised, tf.matMul), values and the gradient for x through tf.grads, int8 and f16, on shapes with
 * tails (not multiples of the 16 × 16 tile; int8 rows that straddle 4-byte words). The cases and the check:
 * PACKED_MATMUL_CASES and checkPackedMatMul in ../webgpu-cases.ts, which the Chromium check runs too.
 * Without a WebGPU adapter the test is skipped with a warning, never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { kernelFor } from '../../../../src/lib/model/kernels/registry';
import { expectRowsOk, webgpuOrSkip } from '../webgpu-helpers';
import { checkPackedMatMul, PACKED_MATMUL_CASES } from '../webgpu-cases';

let gpu = false;
beforeAll(async () => {
  gpu = await webgpuOrSkip('packed-matmul');
});
afterAll(() => tf.setBackend('cpu'));

describe('packedMatMul on WebGPU', () => {
  it.for(['int8', 'f16'] as const)('%s: kernel = reference (values and dx)', async (fmt, ctx) => {
    if (!gpu) return ctx.skip();
    expect(kernelFor('packed-matmul')).toBe('kernel');
    const cases = PACKED_MATMUL_CASES.filter((c) => c.format === fmt);
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) expectRowsOk(await checkPackedMatMul(c));
  });
});
