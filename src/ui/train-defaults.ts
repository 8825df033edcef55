/**
 * Objective labels and tooltips for the Train view. Defaults, row kinds and which hyperparameters an
 * objective has come from the engine (defaultTrainConfig, and the fields each objective declares).
 */
import { defaultTrainConfig } from '../lib/train/defaults';
import { OBJECTIVES } from '../lib/objectives/index';
import type { TrainRow } from '../lib/data/rows';
import type { TrainObjectiveName, TrainConfig } from '../lib/train/types';

const TEXT: Record<TrainObjectiveName, { label: string; hint: string }> = {
  clo: {
    label: 'CLO (cross-lingual)',
    hint: 'λ·NLL(target answer | target prompt) + (1 − λ)·DPO over both directions: English prompt prefers the English answer, target prompt prefers the target answer. Needs en/target pairs.',
  },
  sft: {
    label: 'SFT',
    hint: 'Mean token cross-entropy on the responses. Needs {prompt, response} or instruction rows.',
  },
  dpo: {
    label: 'DPO',
    hint: 'Preference loss against the base model (adapter off) as reference. Needs {prompt, chosen, rejected}.',
  },
  orpo: {
    label: 'ORPO',
    hint: 'NLL(chosen) + λ·odds-ratio preference term; no reference pass. Needs {prompt, chosen, rejected}.',
  },
  pt: {
    label: 'PT (continued pretraining)',
    hint: 'Causal LM loss on every token of raw text, long texts cut into windows; used after a vocabulary extension. Needs {"text"} rows.',
  },
};

/** Per objective: label and hint (UI text) and the row kind it trains on (declared by the objective). */
export const OBJECTIVE_INFO = Object.fromEntries(
  (Object.keys(TEXT) as TrainObjectiveName[]).map((k) => [k, { ...TEXT[k], rowKind: OBJECTIVES[k].accepts[0] }]),
) as Record<TrainObjectiveName, { label: string; hint: string; rowKind: TrainRow['kind'] }>;

/** The objective's own hyperparameters (absent: it has none of that name), with default and help. */
export function objectiveParams(objective: TrainObjectiveName) {
  return OBJECTIVES[objective].params;
}

/** Browser defaults: the engine's (train/defaults.ts), with a smaller batch and a longer run suited to the embedded model. */
export function objectiveDefaults(objective: TrainObjectiveName, overrides: Partial<TrainConfig> = {}): TrainConfig {
  return defaultTrainConfig(objective, { batchSize: 4, steps: 100, ...overrides });
}
