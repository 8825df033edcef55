/**
 * The workers' one call site of the memory guard (src/lib/model/memory.ts), run before any training
 * step and before any evaluation job. When the guard moves into the library with a `checkBudget(...)`
 * style API, only this function changes. Throws MemoryRefusal (the UI shows its message as is).
 */
import * as tf from '@tensorflow/tfjs';
import { checkMemory } from '../../src/lib/model/memory';
import type { ModelConfig } from '../../src/lib/model/config';
import type { TrainConfig } from '../../src/lib/train/types';

export class MemoryRefusal extends Error {
  override name = 'MemoryRefusal';
}

/** Sequences scored per row by each objective (CLO: 4, preference pairs: 2, SFT: 1). */
const SEQ_PER_ROW: Record<string, number> = { clo: 4, dpo: 2, orpo: 2, sft: 1 };

/** wasm's heap is 4 GiB; WebGPU limits come from the device tfjs opened. */
function limits(): { maxBufferSize?: number; maxStorageBufferBindingSize?: number; totalBytes?: number } {
  const name = tf.getBackend();
  if (name === 'wasm') return { totalBytes: 4 * 2 ** 30 };
  if (name === 'webgpu') {
    const l = (tf.backend() as unknown as { device?: { limits?: Record<string, number> } }).device?.limits ?? {};
    return { maxBufferSize: l.maxBufferSize, maxStorageBufferBindingSize: l.maxStorageBufferBindingSize };
  }
  return {};
}

/** Training (config given) or inference (batch × sequence) on this model and backend: ok, or throws. */
export function guardMemory(
  model: ModelConfig,
  job: { train: TrainConfig } | { batchSize: number; seqLen: number },
): void {
  const shape =
    'train' in job
      ? {
          batchSize: job.train.batchSize * (SEQ_PER_ROW[job.train.objective] ?? 4),
          seqLen: Math.min(job.train.maxSeqLen, model.maxSeqLen),
          lora: { r: job.train.lora.r, targets: job.train.lora.targets },
          training: true,
        }
      : { batchSize: job.batchSize, seqLen: Math.min(job.seqLen, model.maxSeqLen), lora: null, training: false };
  const check = checkMemory(model, shape, limits());
  if (!check.ok) throw new MemoryRefusal(`Refused before allocating (${tf.getBackend()}): ${check.message}`);
}
