import { DEFAULT_LORA } from '../lora/types';
import { getObjective } from '../objectives/index';
import type { ObjectiveParams } from '../objectives/types';
import type { TrainObjectiveName, TrainConfig } from './types';

/**
 * Objective-independent defaults (docs/methods.md §3: AdamW, warmup + cosine, clipping; LoRA on the
 * attention projections). Each objective's own hyperparameters and their defaults are declared on the
 * objective (`params` in objectives/*.ts); the CLI flags and the UI form read both from here and there.
 */
export const TRAIN_DEFAULTS: Omit<TrainConfig, 'objective' | 'beta' | 'lambda'> = {
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
  lora: DEFAULT_LORA,
  checkpointEvery: 10,
};

/** Values recorded in the config for an ObjectiveParams entry the objective does not use (it never reads them). */
const UNUSED_PARAM: ObjectiveParams = { beta: 0.1, lambda: 0.5 };

/** A full config: the objective-independent defaults, the objective's own defaults, then the overrides. */
export function defaultTrainConfig(objective: TrainObjectiveName, overrides: Partial<TrainConfig> = {}): TrainConfig {
  const own = getObjective(objective).params;
  const base: TrainConfig = {
    objective,
    ...TRAIN_DEFAULTS,
    beta: own.beta?.default ?? UNUSED_PARAM.beta,
    lambda: own.lambda?.default ?? UNUSED_PARAM.lambda,
    lora: { ...DEFAULT_LORA, targets: [...DEFAULT_LORA.targets] },
  };
  return { ...base, ...overrides, lora: { ...base.lora, ...(overrides.lora ?? {}) } };
}
