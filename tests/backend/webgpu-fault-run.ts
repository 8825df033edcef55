/**
 * The device-lost scenario, one source for Node (webgpu-faults.test.ts, Dawn on SwiftShader) and Chromium
 * (tests/e2e/kernel-check/page.ts): a tiny random model (dim 16, one layer, 33 tokens) so that SwiftShader
 * stays quick, a CLO run of STEPS steps, and the same run with its WebGPU device destroyed while a step runs,
 * then resumed from its last checkpoint (checkpoint.safetensors bytes) on a re-created backend. No test
 * framework here: the callers compare what these return. Needs the lab's webgpu backend registered
 * (registerLabWebgpu) and current.
 */
import * as tf from '@tensorflow/tfjs';
import { recreateWebgpuBackend, webgpuDevice } from '../../src/lib/backend/webgpu-device';
import type { CloRow } from '../../src/lib/data/rows';
import { checkpointFromBytes, checkpointToBytes } from '../../src/lib/formats/checkpoint';
import { snapshotLora } from '../../src/lib/lora/lora';
import type { LoraSnapshot } from '../../src/lib/lora/types';
import { defaultConfig } from '../../src/lib/model/config';
import type { LoadedModel } from '../../src/lib/model/model';
import { randomWeights } from '../../src/lib/model/random';
import { disposeWeights } from '../../src/lib/model/weights';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import { runTraining, type TrainingHooks } from '../../src/lib/train/run-training';
import { Trainer } from '../../src/lib/train/trainer';
import type { StepMetrics, TrainConfig } from '../../src/lib/train/types';
import { FakeTokenizer } from '../helpers/fake-tokenizer';

const tokenizer = new FakeTokenizer([...'abcdefghijklmnopqrstuvwxyz?:. ']);

export function faultModel(): LoadedModel {
  const config = defaultConfig({ dim: 16, nLayers: 1, nHeads: 2, vocabSize: tokenizer.vocabSize, maxSeqLen: 64 });
  return { name: 'tiny', source: 'tiny', config, weights: randomWeights(config, 7, 0.1), tokenizer };
}

// every sequence of the same length, so that each step has the same shapes (SwiftShader compiles a
// WebGPU pipeline per shape, slowly)
export const FAULT_ROWS: CloRow[] = ['abc', 'def', 'ghi'].map((w) => ({
  kind: 'clo',
  lang: 'ko',
  xEn: `q: ${w}? a: `,
  yEn: `${w}.`,
  xTgt: `p: ${w}? b: `,
  yTgt: `${w}!`,
}));

export const FAULT_STEPS = 2;

export const faultConfig = (steps = FAULT_STEPS): TrainConfig =>
  defaultTrainConfig('clo', {
    batchSize: 1,
    maxSeqLen: 48,
    steps,
    lr: 5e-3,
    warmupSteps: 1,
    seed: 4,
    lora: { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'], init: 'gaussian' },
  });

export interface FaultRunResult {
  metrics: StepMetrics[];
  lora: LoraSnapshot;
  /** references the run scored (4 per step) */
  references: number;
}

/** The uninterrupted run (the trajectory a resumed run must follow); `hooks` e.g. to count GPU reads per step. */
export async function uninterruptedRun(hooks: TrainingHooks<Trainer> = {}): Promise<FaultRunResult> {
  const model = faultModel();
  const trainer = Trainer.create(model, FAULT_ROWS, faultConfig());
  try {
    await runTraining(trainer, hooks);
    return {
      metrics: trainer.metrics.slice(),
      lora: await snapshotLora(trainer.lora),
      references: trainer.referenceCache!.size,
    };
  } finally {
    trainer.dispose();
    disposeWeights(model.weights);
  }
}

export interface LostAndResumed {
  /** what the run threw: a DeviceLostError is expected */
  error: unknown;
  /** the steps the lost run had finished */
  stepsBefore: number;
  /** the step of the checkpoint resumed from */
  checkpointStep: number | null;
  /** the resumed run's outcome and the whole run's trajectory */
  outcome: { status: string; steps: number } | null;
  resumed: FaultRunResult | null;
}

/**
 * The same run checkpointing every step, its device destroyed while step `lossAt` runs (after its kernels
 * are queued, before its read); then the backend re-created, the model loaded again and the run resumed
 * from the last checkpoint's bytes. Leaves the re-created webgpu backend current.
 */
export async function lostAndResumed(lossAt: number): Promise<LostAndResumed> {
  let model = faultModel();
  const run = Trainer.create(model, FAULT_ROWS, faultConfig());
  let saved = null as Uint8Array | null; // set in onCheckpoint
  let error: unknown = null;
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
    error = e;
  }
  const out: LostAndResumed = {
    error,
    stepsBefore: run.metrics.length,
    checkpointStep: null,
    outcome: null,
    resumed: null,
  };
  if (!saved) return out;

  // re-create the backend, load the model again, resume from the checkpoint file
  await recreateWebgpuBackend();
  if (tf.getBackend() !== 'webgpu') throw new Error(`after re-creating, the backend is ${tf.getBackend()}`);
  model = faultModel();
  const { checkpoint } = await checkpointFromBytes(saved);
  out.checkpointStep = checkpoint.step;
  const resumed = Trainer.create(model, FAULT_ROWS, faultConfig(), checkpoint);
  try {
    out.outcome = await runTraining(resumed);
    out.resumed = {
      metrics: resumed.metrics.slice(),
      lora: await snapshotLora(resumed.lora),
      references: resumed.referenceCache!.size,
    };
  } finally {
    resumed.dispose();
    disposeWeights(model.weights);
  }
  return out;
}

/** The largest relative difference of loss, grad_norm and rewards/margins per step, and of the LoRA weights. */
export function trajectoryDiff(got: FaultRunResult, want: FaultRunResult): { metrics: number; lora: number } {
  const keys = ['loss', 'grad_norm', 'rewards/margins'] as const;
  const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-6, Math.abs(b));
  let metrics = got.metrics.length === want.metrics.length ? 0 : Infinity;
  got.metrics.forEach((m, i) => {
    for (const k of keys) {
      const x = (m as unknown as Record<string, number>)[k];
      const y = (want.metrics[i] as unknown as Record<string, number>)[k];
      metrics = Math.max(metrics, Number.isFinite(rel(x, y)) ? rel(x, y) : Infinity);
    }
  });
  let lora = 0;
  for (const [k, t] of Object.entries(want.lora.tensors))
    for (const w of ['A', 'B'] as const)
      t[w].forEach((v, i) => (lora = Math.max(lora, Math.abs(got.lora.tensors[k][w][i] - v))));
  return { metrics, lora };
}
