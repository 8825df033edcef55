/** Objective labels, tooltips and defaults for the Train view (defaults come from the engine's defaultTrainConfig). */
import { defaultTrainConfig } from '../lib/train/defaults';
import type { ObjectiveName, TrainConfig } from '../lib/train/types';

export const OBJECTIVE_INFO: Record<ObjectiveName, { label: string; hint: string; rowKind: 'sft' | 'preference' | 'clo' }> = {
  clo: {
    label: 'CLO (cross-lingual)',
    hint: 'λ·NLL(target answer | target prompt) + (1 − λ)·DPO over both directions: English prompt prefers the English answer, target prompt prefers the target answer. Needs en/target pairs.',
    rowKind: 'clo',
  },
  sft: { label: 'SFT', hint: 'Mean token cross-entropy on the responses. Needs {prompt, response} or instruction rows.', rowKind: 'sft' },
  dpo: { label: 'DPO', hint: 'Preference loss against the base model (adapter off) as reference. Needs {prompt, chosen, rejected}.', rowKind: 'preference' },
  orpo: { label: 'ORPO', hint: 'NLL(chosen) + λ·odds-ratio preference term; no reference pass. Needs {prompt, chosen, rejected}.', rowKind: 'preference' },
};

/** Browser defaults: the engine's per-objective defaults, with shorter sequences suited to the embedded model. */
export function objectiveDefaults(objective: ObjectiveName, overrides: Partial<TrainConfig> = {}): TrainConfig {
  return defaultTrainConfig(objective, { batchSize: 4, maxSeqLen: 128, steps: 100, checkpointEvery: 10, ...overrides });
}
