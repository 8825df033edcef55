/**
 * The workers' one call site of the memory guard (src/lib/model/memory.ts), run before any training
 * step and before any evaluation job, with the same calls as the CLI: `estimatePeak` for the run's
 * shape (sequences per row from the objective's own layout, checkpointing, backend), `budgetFor` the
 * backend (wasm heap, WebGPU buffer limits) and `checkBudget`, whose advice names the knob to turn.
 * Throws MemoryRefusal (the UI shows its message as is).
 */
import * as tf from '@tensorflow/tfjs';
import { budgetFor, checkBudget, estimatePeak, type MemoryRunShape } from '../../src/lib/model/memory';
import { getObjective } from '../../src/lib/objectives/index';
import type { ModelConfig } from '../../src/lib/model/config';
import type { TrainConfig } from '../../src/lib/train/types';
import type { BaseFormat } from '../../src/lib/model/packed-base';

export class MemoryRefusal extends Error {
  override name = 'MemoryRefusal';
}

/** WebGPU limits of the device tfjs opened (other backends need none). */
function deviceLimits(): { maxBufferSize?: number; maxStorageBufferBindingSize?: number } | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  const l = (tf.backend() as unknown as { device?: { limits?: Record<string, number> } }).device?.limits ?? {};
  return { maxBufferSize: l.maxBufferSize, maxStorageBufferBindingSize: l.maxStorageBufferBindingSize };
}

/** The guard's shape for a training run or an inference job on this model and backend. */
export function runShape(
  model: ModelConfig,
  job: { train: TrainConfig } | { batchSize: number; seqLen: number },
  backend: string,
  base: BaseFormat = 'f32',
): MemoryRunShape {
  if ('train' in job)
    return {
      batchSize: job.train.batchSize * getObjective(job.train.objective).layout.length,
      seqLen: Math.min(job.train.maxSeqLen, model.maxSeqLen),
      lora: { r: job.train.lora.r, targets: job.train.lora.targets },
      training: true,
      checkpointing: !!job.train.checkpointing,
      backend,
      base,
    };
  return {
    batchSize: job.batchSize,
    seqLen: Math.min(job.seqLen, model.maxSeqLen),
    lora: null,
    training: false,
    backend,
    base,
  };
}

/**
 * Training (config given) or inference (batch × sequence) on this model and backend: ok, or throws. The
 * frozen base counts as the model holds it (`base`: model/packed-base.ts baseFormatOf(model)).
 */
export function guardMemory(
  model: ModelConfig,
  job: { train: TrainConfig } | { batchSize: number; seqLen: number },
  base: BaseFormat = 'f32',
): void {
  const backend = tf.getBackend();
  const check = checkBudget(
    estimatePeak(model, runShape(model, job, backend, base)),
    budgetFor(backend, { limits: deviceLimits() }),
  );
  if (!check.ok) throw new MemoryRefusal(`Refused before allocating (${backend}): ${check.advice}`);
}
