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

/**
 * Peak learning rate of the added tokens' embedding rows, per objective (the LoRA rate stays `lr`).
 * New rows start far from where training puts them, so they take a much larger rate than the
 * adapter: continued pretraining moved them at 3e-2 and CLO at 1e-2 in the runs that gave Hangul
 * answers (docs/choices.md, "Fidelity after pt + CLO"); lower rates left the answers in English.
 */
export const ROWS_LR: Record<TrainObjectiveName, number> = { pt: 3e-2, clo: 1e-2, sft: 1e-2, dpo: 1e-2, orpo: 1e-2 };

/** The Train form's choice about the added tokens' rows (used only when the model has added tokens). */
export interface RowsChoice {
  train: boolean;
  lr: number;
}

export const rowsDefaults = (objective: TrainObjectiveName): RowsChoice => ({ train: true, lr: ROWS_LR[objective] });

/** The first trainable row of a model with `added` tokens at the end of its vocabulary (null: none added). */
export function newRowsStart(
  model: { config: { vocabSize: number }; added?: number } | null | undefined,
): number | null {
  if (!model?.added) return null;
  return model.config.vocabSize - model.added;
}

/**
 * The config a run starts with: the form's config, plus the added rows (from `start`, at the form's
 * rate) when the model has added tokens and the form trains them.
 */
export function withRows(config: TrainConfig, rows: RowsChoice, start: number | null): TrainConfig {
  const { trainRowsFrom: _from, rowsLr: _lr, ...rest } = config;
  if (start === null || !rows.train) return rest;
  return { ...rest, trainRowsFrom: start, rowsLr: rows.lr };
}

/** The Train form as kept across reloads. */
export interface TrainForm {
  config: TrainConfig;
  name: string;
  rows: RowsChoice;
}

/**
 * A kept form read back: every field of the objective's defaults, with the kept value where it has the
 * same type (a form kept by another version of the lab loses only the fields that changed); null when
 * nothing usable was kept.
 */
export function readTrainForm(raw: unknown): TrainForm | null {
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Partial<Record<keyof TrainForm, unknown>>;
  const c = (r.config ?? {}) as Record<string, unknown>;
  const objective = c.objective as TrainObjectiveName;
  if (!(objective in OBJECTIVES)) return null;
  const base = objectiveDefaults(objective);
  const same = <T>(d: T, v: unknown): T =>
    typeof v === typeof d && (typeof v !== 'number' || Number.isFinite(v)) ? (v as T) : d;
  const config = { ...base } as unknown as Record<string, unknown>;
  for (const [k, d] of Object.entries(base)) if (k !== 'lora') config[k] = same(d, c[k]);
  const l = (c.lora ?? {}) as Record<string, unknown>;
  const lora = { ...base.lora } as unknown as Record<string, unknown>;
  for (const [k, d] of Object.entries(base.lora)) if (k !== 'targets') lora[k] = same(d, l[k]);
  lora.targets = Array.isArray(l.targets) ? l.targets.filter((t) => typeof t === 'string') : base.lora.targets;
  config.lora = lora;
  const rows = (r.rows ?? {}) as Record<string, unknown>;
  const rd = rowsDefaults(objective);
  return {
    config: config as unknown as TrainConfig,
    name: typeof r.name === 'string' ? r.name : '',
    rows: { train: same(rd.train, rows.train), lr: same(rd.lr, rows.lr) },
  };
}
