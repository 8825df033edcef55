/**
 * WebGPU in Node (Dawn on SwiftShader, docs/webgpu-here.md), on a tiny random model (dim 16, one
 * layer, 33 tokens) so that SwiftShader stays quick:
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
import { DeviceLostError, recreateWebgpuBackend, webgpuDevice } from '../../src/lib/backend/webgpu-device';
import { defaultConfig } from '../../src/lib/model/config';
import { randomWeights } from '../../src/lib/model/random';
import { disposeWeights } from '../../src/lib/model/weights';
import type { LoadedModel } from '../../src/lib/model/model';
import type { CloRow } from '../../src/lib/data/rows';
import { Trainer } from '../../src/lib/train/trainer';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import { runTraining } from '../../src/lib/train/run-training';
import { checkpointFromBytes, checkpointToBytes } from '../../src/lib/formats/checkpoint';
import type { StepMetrics, TrainConfig } from '../../src/lib/train/types';
import { snapshotLora } from '../../src/lib/lora/lora';
import type { LoraSnapshot } from '../../src/lib/lora/types';
import { FakeTokenizer } from '../helpers/fake-tokenizer';

const tokenizer = new FakeTokenizer([...'abcdefghijklmnopqrstuvwxyz?:. ']);

function tinyModel(): LoadedModel {
  const config = defaultConfig({ dim: 16, nLayers: 1, nHeads: 2, vocabSize: tokenizer.vocabSize, maxSeqLen: 64 });
  return { name: 'tiny', source: 'tiny', config, weights: randomWeights(config, 7, 0.1), tokenizer };
}

// every sequence of the same length, so that each step has the same shapes (SwiftShader compiles a
// WebGPU pipeline per shape, slowly)
const ROWS: CloRow[] = ['abc', 'def', 'ghi'].map((w) => ({
  kind: 'clo',
  lang: 'ko',
  xEn: `q: ${w}? a: `,
  yEn: `${w}.`,
  xTgt: `p: ${w}? b: `,
  yTgt: `${w}!`,
}));

const config = (steps: number): TrainConfig =>
  defaultTrainConfig('clo', {
    batchSize: 1,
    maxSeqLen: 48,
    steps,
    lr: 5e-3,
    warmupSteps: 1,
    seed: 4,
    lora: { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'], init: 'gaussian' },
  });

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

const STEPS = 2;
/** the uninterrupted run (the first test), which the resumed run is compared with */
let want: StepMetrics[] = [];
let wantLora: LoraSnapshot | null = null;

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
    const model = tinyModel();
    const trainer = Trainer.create(model, ROWS, config(STEPS));
    const perStep: number[] = [];
    try {
      await runTraining(trainer, {
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
    expect(trainer.referenceCache!.size).toBe(4 * STEPS);
    expect(perStep).toEqual([1, 1]);
    want = trainer.metrics.slice();
    wantLora = await snapshotLora(trainer.lora);
    trainer.dispose();
    disposeWeights(model.weights);
  });
});

describe('WebGPU device lost in the middle of a run', () => {
  it('the step ends naming the loss; re-created, the run resumes from its checkpoint on the same trajectory', async (ctx) => {
    needGpu(ctx);
    expect(want.length, 'the uninterrupted run (previous test)').toBe(STEPS);
    const lossAt = 2; // the device goes during step 2; the last checkpoint is after step 1
    // the same run, checkpointing every step, its device destroyed while step 2 runs
    let model = tinyModel();
    const run = Trainer.create(model, ROWS, config(STEPS));
    let saved: Uint8Array | null = null;
    let err: unknown = null;
    try {
      await runTraining(run, {
        checkpointEvery: 1,
        onCheckpoint: async (_reason, t) => {
          saved = checkpointToBytes(await t.checkpoint(), { source: 'cli' });
        },
        exclusive: async (fn) => {
          const p = fn(); // the step's kernels are queued up to its first await
          if (run.stepIndex === lossAt - 1) webgpuDevice()!.destroy();
          return p;
        },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DeviceLostError);
    expect((err as Error).message).toMatch(/WebGPU device was lost during training step 2 \(destroyed/);
    expect((err as DeviceLostError).loss.reason).toBe('destroyed');
    expect(run.metrics.length).toBe(lossAt - 1);
    expect(saved).not.toBeNull();

    // re-create the backend, load the model again, resume from the checkpoint file
    await recreateWebgpuBackend();
    expect(tf.getBackend()).toBe('webgpu');
    model = tinyModel();
    const { checkpoint } = await checkpointFromBytes(saved!);
    expect(checkpoint.step).toBe(lossAt - 1);
    const resumed = Trainer.create(model, ROWS, config(STEPS), checkpoint);
    const out = await runTraining(resumed);
    expect(out).toEqual({ status: 'done', steps: STEPS - (lossAt - 1) });
    const got = resumed.metrics;
    const gotLora = await snapshotLora(resumed.lora);
    expect(resumed.referenceCache!.size).toBe(4 * STEPS);
    resumed.dispose();
    disposeWeights(model.weights);

    const keys = ['loss', 'grad_norm', 'rewards/margins'] as const;
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-6, Math.abs(b));
    expect(got.length).toBe(STEPS);
    got.forEach((m: StepMetrics, i) => {
      for (const k of keys) {
        const x = (m as unknown as Record<string, number>)[k];
        const y = (want[i] as unknown as Record<string, number>)[k];
        expect(rel(x, y), `step ${i + 1} ${k}: ${x} vs ${y}`).toBeLessThan(1e-5);
      }
    });
    let worst = 0;
    for (const [k, t] of Object.entries(wantLora!.tensors))
      for (const w of ['A', 'B'] as const)
        t[w].forEach((v, i) => (worst = Math.max(worst, Math.abs(gotLora.tensors[k][w][i] - v))));
    expect(worst).toBeLessThan(1e-6);
  });
});
