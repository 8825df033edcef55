import { DEFAULT_LORA } from '../lora/types';
import type { TrainObjectiveName, TrainConfig } from './types';

/** Defaults per objective (methods.md §2): SFT lr 2e-4; DPO β 0.1; ORPO λ 0.1; CLO λ 0.5, β 0.1, attention-only LoRA. */
export function defaultTrainConfig(objective: TrainObjectiveName, overrides: Partial<TrainConfig> = {}): TrainConfig {
  const base: TrainConfig = {
    objective,
    steps: 50,
    batchSize: 8,
    gradAccum: 1,
    lr: 2e-4,
    warmupSteps: 0,
    minLrRatio: 0.1,
    weightDecay: 0,
    clipNorm: 1.0,
    maxSeqLen: 128,
    seed: 0,
    beta: 0.1,
    lambda: objective === 'orpo' ? 0.1 : 0.5,
    lora: { ...DEFAULT_LORA },
    checkpointEvery: 10,
  };
  return { ...base, ...overrides, lora: { ...base.lora, ...(overrides.lora ?? {}) } };
}
