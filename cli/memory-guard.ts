/**
 * The memory guard (src/lib/model/memory.ts) for one training run, before any step: `train` checks
 * its flags with it and `experiment` each arm, so both refuse the same settings with the same advice.
 * wasm has a 4 GiB heap; WebGPU has per-buffer limits.
 */
import type { BackendChoice } from '../src/lib/backend/select';
import type { LoadedModel } from '../src/lib/model/model';
import { budgetFor, checkBudget, estimatePeak } from '../src/lib/model/memory';
import { getObjective } from '../src/lib/objectives/index';
import { baseFormatOf } from '../src/lib/model/packed-base';
import type { TrainConfig } from '../src/lib/train/types';

/** The guard's advice when the run would not fit, else null. */
export function trainMemoryAdvice(model: LoadedModel, cfg: TrainConfig, backend: BackendChoice): string | null {
  const est = estimatePeak(model.config, {
    batchSize: cfg.batchSize * getObjective(cfg.objective).layout.length,
    seqLen: Math.min(cfg.maxSeqLen, model.config.maxSeqLen),
    lora: { r: cfg.lora.r, targets: cfg.lora.targets },
    training: true,
    checkpointing: !!cfg.checkpointing,
    backend: backend.name,
    base: baseFormatOf(model),
  });
  const mem = checkBudget(est, budgetFor(backend.name, { limits: backend.adapterInfo?.limits }));
  return mem.ok ? null : mem.advice;
}
