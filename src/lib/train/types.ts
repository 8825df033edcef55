import type { LoraConfig, LoraSnapshot } from '../lora/types';
import type { RowsSnapshot } from './trainable-rows';

export type ObjectiveName = 'sft' | 'dpo' | 'orpo' | 'clo';
/** every objective the trainer runs: the four fine-tuning ones and continued pretraining (`pt`, docs/methods.md §8) */
export type TrainObjectiveName = ObjectiveName | 'pt';

export interface TrainConfig {
  objective: TrainObjectiveName;
  steps: number;
  batchSize: number;
  gradAccum: number;
  lr: number;
  warmupSteps: number;
  /** cosine decays to lr * minLrRatio */
  minLrRatio: number;
  weightDecay: number;
  clipNorm: number;
  maxSeqLen: number;
  seed: number;
  /** DPO / CLO temperature */
  beta: number;
  /** ORPO weight of the odds-ratio term; CLO weight of NLL_target */
  lambda: number;
  lora: LoraConfig;
  /** checkpoint every N steps (browser runs) */
  checkpointEvery: number;
  /** gradient checkpointing: recompute each block in the backward pass instead of keeping its activations */
  checkpointing?: boolean;
  /** first embedding row to train (the added tokens, docs/methods.md §8); absent = embeddings frozen */
  trainRowsFrom?: number;
  /** peak learning rate of the trainable embedding rows (same schedule as lr); absent = lr */
  rowsLr?: number;
}

/** Metrics logged every step (docs/methods.md §2). Absent keys do not apply to the objective. */
export interface StepMetrics {
  step: number;
  loss: number;
  'loss/nll'?: number;
  'loss/pref'?: number;
  'rewards/chosen'?: number;
  'rewards/rejected'?: number;
  'rewards/margins'?: number;
  'rewards/accuracies'?: number;
  lr: number;
  grad_norm: number;
  tokens_per_s: number;
  tokens: number;
  ms: number;
}

/** Everything needed to continue a run on the same trajectory. */
export interface TrainCheckpoint {
  step: number;
  config: TrainConfig;
  lora: LoraSnapshot;
  /** Adam moments, same keys as lora.tensors */
  optimizer: { t: number; m: Record<string, Float32Array>; v: Record<string, Float32Array> };
  metrics: StepMetrics[];
  /** DPO / CLO: reference log-probs computed so far, by sequence key (objectives/reference-cache.ts) */
  reference?: Record<string, number>;
  /** trained embedding rows (config.trainRowsFrom set) */
  rows?: RowsSnapshot;
}
