/**
 * WebGPU in Node (Dawn on SwiftShader, docs/webgpu-here.md), on a tiny random model (webgpu-fault-run.ts,
 * the scenario the Chromium check runs too):
 *  - a training step reads back from the GPU once (GPUBuffer.mapAsync counted), a CLO step that also
 *    computes its reference log-probs included;
 *  - the device destroyed in the middle of a step: the step ends with DeviceLostError naming the loss,
 *    and after the backend is re-created the run resumes from its last checkpoint
 *    (checkpoint.safetensors bytes) on the same trajectory as an uninterrupted run.
 * Without a WebGPU adapter the cases are skipped with a warning (ctx.skip), never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { enableNodeWebgpu } from '../../cli/node-env';
import { DeviceLostError } from '../../src/lib/backend/webgpu-device';
import {
  FAULT_STEPS as STEPS,
  lostAndResumed,
  trajectoryDiff,
  uninterruptedRun,
  type FaultRunResult,
} from './webgpu-fault-run';

let gpu = false;

beforeAll(async () => {
  gpu = await enableNodeWebgpu();
  if (gpu) {
    expect(await tf.setBackend('webgpu')).toBe(true);
    await tf.ready();
  }
});

afterAll(async () => {
  if (gpu) await tf.setBackend('cpu');
});

const needGpu = (ctx: { skip: () => void }) => {
  if (!gpu) {
    console.warn('webgpu-faults: no WebGPU adapter here (Dawn found no Vulkan driver): skipped');
    ctx.skip();
  }
};

/** the uninterrupted run (the first test), which the resumed run is compared with */
let want: FaultRunResult | null = null;

describe('no synchronous readback in a WebGPU training step', () => {
  it('each CLO step maps one GPU buffer (its loss, metrics and new reference log-probs together)', async (ctx) => {
    needGpu(ctx);
    const proto = (globalThis as unknown as { GPUBuffer: { prototype: { mapAsync: (...a: unknown[]) => unknown } } })
      .GPUBuffer.prototype;
    const orig = proto.mapAsync;
    let maps = 0;
    proto.mapAsync = function (this: unknown, ...a: unknown[]) {
      maps++;
      return orig.apply(this, a);
    };
    const perStep: number[] = [];
    try {
      want = await uninterruptedRun({
        exclusive: async (fn) => {
          const before = maps;
          const r = await fn();
          perStep.push(maps - before);
          return r;
        },
      });
    } finally {
      proto.mapAsync = orig;
    }
    // each step scored references the cache had not seen (one row per step), yet read once
    expect(want.references).toBe(4 * STEPS);
    expect(perStep).toEqual([1, 1]);
  });
});

describe('WebGPU device lost in the middle of a run', () => {
  it('the step ends naming the loss; re-created, the run resumes from its checkpoint on the same trajectory', async (ctx) => {
    needGpu(ctx);
    expect(want?.metrics.length, 'the uninterrupted run (previous test)').toBe(STEPS);
    const lossAt = 2; // the device goes during step 2; the last checkpoint is after step 1
    const r = await lostAndResumed(lossAt);
    expect(r.error).toBeInstanceOf(DeviceLostError);
    expect((r.error as Error).message).toMatch(/WebGPU device was lost during training step 2 \(destroyed/);
    expect((r.error as DeviceLostError).loss.reason).toBe('destroyed');
    expect(r.stepsBefore).toBe(lossAt - 1);
    expect(r.checkpointStep).toBe(lossAt - 1);
    expect(tf.getBackend()).toBe('webgpu');
    expect(r.outcome).toEqual({ status: 'done', steps: STEPS - (lossAt - 1) });
    expect(r.resumed!.references).toBe(4 * STEPS);
    expect(r.resumed!.metrics.length).toBe(STEPS);
    const d = trajectoryDiff(r.resumed!, want!);
    expect(d.metrics, 'loss, grad_norm, rewards/margins: largest relative difference').toBeLessThan(1e-5);
    expect(d.lora, 'LoRA weights: largest absolute difference').toBeLessThan(1e-6);
  });
});
