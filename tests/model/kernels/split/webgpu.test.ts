/**
 * SplitV on WebGPU (src/lib/model/kernels/split/webgpu.ts, Dawn on SwiftShader in Node): the pieces equal
 * the input's blocks computed by index, for a flat vector in uneven pieces (more pieces than one dispatch
 * binds), along a middle and the last axis, int32, and splits tfjs's own kernel takes (an empty piece),
 * each with the lab's dispatches by pipeline key (the cases and the check: SPLIT_CASES and checkSplit in
 * ../webgpu-cases.ts, which the Chromium check runs too); and here also the dispatches counted at the
 * WebGPU API: one per group of pieces the device binds. Without a WebGPU adapter the tests are skipped at
 * run time with a warning, never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { expectRowsOk, webgpuOrSkip } from '../webgpu-helpers';
import { checkSplit, SPLIT_CASES, splitInput } from '../webgpu-cases';

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

describe('SplitV on webgpu', () => {
  it.for(SPLIT_CASES)('pieces = the blocks of the input ($label)', async (c, ctx) => {
    if (!gpu) return ctx.skip();
    expectRowsOk(await checkSplit(c));
  });

  it.for(SPLIT_CASES.filter((c) => !c.sizes.includes(0)))(
    'one dispatch at the WebGPU API per group of pieces the device binds ($label)',
    async (c, ctx) => {
      if (!gpu) return ctx.skip();
      const { x } = splitInput(c);
      await x.data();
      const limit = (tf.backend() as unknown as { device: GPUDevice }).device.limits.maxStorageBuffersPerShaderStage;
      const perDispatch = Math.min(15, limit - 1);
      dispatches = 0;
      const pieces = tf.split(x, c.sizes, c.axis);
      await Promise.all(pieces.map((p) => p.data()));
      expect(dispatches).toBe(Math.ceil(c.sizes.length / perDispatch));
      tf.dispose([x, ...pieces]);
    },
  );
});
