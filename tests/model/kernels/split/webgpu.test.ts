/**
 * SplitV on WebGPU (src/lib/model/kernels/split/webgpu.ts, Dawn on SwiftShader in Node): the pieces equal
 * the input's blocks computed here by index, for a flat vector in uneven pieces (more pieces than one
 * dispatch binds), along a middle and the last axis, int32, and splits tfjs's own kernel takes (an empty
 * piece); and the dispatches counted at the WebGPU API: one per group of pieces the device binds.
 * Without a WebGPU adapter the tests are skipped at run time with a warning, never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { webgpuOrSkip } from '../webgpu-helpers';

let gpu = false;
let dispatches = 0;
let restore = () => {};
beforeAll(async () => {
  gpu = await webgpuOrSkip('split');
  if (!gpu) return;
  const pass = (globalThis as unknown as { GPUComputePassEncoder: { prototype: GPUComputePassEncoder } })
    .GPUComputePassEncoder.prototype;
  const dispatch = pass.dispatchWorkgroups;
  pass.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...a: Parameters<typeof dispatch>) {
    dispatches++;
    return dispatch.apply(this, a);
  };
  restore = () => (pass.dispatchWorkgroups = dispatch);
});
afterAll(async () => {
  restore();
  await tf.setBackend('cpu');
});

/** The pieces of x (values in row-major order, shape) split along `axis` by `sizes`, by index. */
function expected(values: number[], shape: number[], sizes: number[], axis: number): number[][] {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const rowLen = shape[axis] * inner;
  let c = 0;
  return sizes.map((s) => {
    const piece: number[] = [];
    for (let r = 0; r < outer; r++) piece.push(...values.slice(r * rowLen + c, r * rowLen + c + s * inner));
    c += s * inner;
    return piece;
  });
}

const cases = [
  { name: '1-D, 20 uneven pieces', shape: [20 * 21], sizes: Array.from({ length: 20 }, (_, i) => 2 * i + 2), axis: 0 },
  { name: 'a 3-D tensor along its middle axis', shape: [3, 10, 4], sizes: [1, 6, 3], axis: 1 },
  { name: 'a matrix along its last axis, 9 pieces', shape: [5, 30], sizes: [1, 2, 3, 4, 5, 6, 3, 4, 2], axis: 1 },
  { name: 'int32', shape: [6, 7], sizes: [2, 4], axis: 0, dtype: 'int32' as const },
  { name: 'an empty piece (tfjs’s kernel)', shape: [50], sizes: [10, 0, 40], axis: 0 },
];

describe('SplitV on webgpu', () => {
  it.for(cases)('pieces = the blocks of the input ($name)', async (c, ctx) => {
    if (!gpu) return ctx.skip();
    const n = c.shape.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: n }, (_, i) => (c.dtype === 'int32' ? i - 7 : i * 0.25 - 3));
    // made by a GPU kernel (a product with 1): tfjs splits small tensors it still holds on the CPU there
    const x = tf.tidy(() => {
      const y = tf.matMul(tf.tensor2d(values, [n, 1]), tf.ones([1, 1])).reshape(c.shape);
      return c.dtype === 'int32' ? y.cast('int32') : y;
    });
    const limit = (tf.backend() as unknown as { device: GPUDevice }).device.limits.maxStorageBuffersPerShaderStage;
    const perDispatch = Math.min(15, limit - 1);
    dispatches = 0;
    const pieces = tf.split(x, c.sizes, c.axis);
    const got = await Promise.all(pieces.map((p) => p.data()));
    if (!c.sizes.includes(0)) expect(dispatches).toBe(Math.ceil(c.sizes.length / perDispatch));
    const want = expected(values, c.shape, c.sizes, c.axis);
    pieces.forEach((p, j) => {
      const shape = c.shape.slice();
      shape[c.axis] = c.sizes[j];
      expect(p.shape).toEqual(shape);
      expect(p.dtype).toBe(c.dtype ?? 'float32');
      expect(Array.from(got[j])).toEqual(want[j]);
    });
    tf.dispose([x, ...pieces]);
  });
});
