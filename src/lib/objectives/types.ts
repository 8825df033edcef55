import type * as tf from '@tensorflow/tfjs';
import type { TrainRow } from '../data/rows';
import type { Tokenizer } from '../tokenizer/types';
import type { TokenizedSeq } from '../model/batch';

/** A sequence an objective asks the trainer to score: prompt and response text, used verbatim. */
export interface PairText {
  prompt: string;
  response: string;
}

/** Per-sequence quantities of one micro-batch, in the order `sequences()` returned them. */
export interface SeqStats {
  /** policy (adapter on) Σ response log-probs, [n] */
  policy: tf.Tensor1D;
  /** reference (adapter off) Σ response log-probs, [n]; null when the objective needs none */
  reference: tf.Tensor1D | null;
  /** response-token counts, [n] (constant) */
  counts: tf.Tensor1D;
}

export interface ObjectiveOutput {
  loss: tf.Scalar;
  metrics: Record<string, tf.Scalar>;
  /**
   * The loss then the metrics in the order of their keys, as one tensor, where the objective computes
   * them together (a fused loss kernel): the trainer reads this instead of stacking the scalars, and the
   * scalars of `metrics` are then views made only when read.
   */
  stacked?: tf.Tensor1D;
}

export interface ObjectiveParams {
  beta: number;
  lambda: number;
}

/** An objective's own hyperparameter: its default (docs/methods.md §2) and what it does, for the CLI help and the UI form. */
export interface ObjectiveParamSpec {
  default: number;
  help: string;
}

/** One config + one loss per method (TRL style). The trainer knows nothing about which one runs. */
export interface Objective {
  name: string;
  /**
   * Row kinds this objective trains on; the first is the kind the data parser is asked for (CLI
   * `--data`, the UI's dataset check). The one place this fact is written.
   */
  accepts: TrainRow['kind'][];
  /**
   * The sequences one row contributes, by role, in the order `sequences()` returns them; its length
   * is the number of sequences scored per row (memory guard, batch-size help).
   */
  layout: readonly string[];
  /**
   * The hyperparameters of ObjectiveParams this objective uses, with their defaults; the ones it
   * does not use are absent. Objective-independent defaults live in train/defaults.ts.
   */
  params: Partial<Record<keyof ObjectiveParams, ObjectiveParamSpec>>;
  needsReference: boolean;
  /** Sequences one row contributes, in a fixed order the loss relies on. */
  sequences(row: TrainRow): PairText[];
  loss(stats: SeqStats, p: ObjectiveParams): ObjectiveOutput;
  /**
   * Optional own tokenization (objective `pt`): the trainer's items for one row, each a list of
   * sequences sampled together. Without it the trainer tokenizes sequences() with tokenizePair.
   */
  tokenize?(tok: Tokenizer, row: TrainRow, maxSeqLen: number): TokenizedSeq[][];
}
