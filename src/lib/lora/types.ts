import type * as tf from '@tensorflow/tfjs';
import type { LinearName } from '../model/weights';

export interface LoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  /** PEFT target names, e.g. ['q_proj','k_proj','v_proj','o_proj'] */
  targets: LinearName[];
  /** 'gaussian' = N(0, 1/r) (methods.md §3), 'kaiming' = Kaiming-uniform as in PEFT */
  init: 'gaussian' | 'kaiming';
}

export const DEFAULT_LORA: LoraConfig = { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], init: 'gaussian' };

/** One adapter: A [r, in], B [out, r]; delta W = (alpha / r) B A. */
export interface LoraPair {
  A: tf.Variable;
  B: tf.Variable;
}

export interface LoraState {
  config: LoraConfig;
  /** keyed `${layer}.${target}`, e.g. '0.q_proj' */
  adapters: Map<string, LoraPair>;
  /** false = reference pass (adapter switched off) */
  enabled: boolean;
}

/** Plain-array form for checkpoints, worker messages and export. */
export interface LoraSnapshot {
  config: LoraConfig;
  tensors: Record<string, { A: Float32Array; B: Float32Array; aShape: [number, number]; bShape: [number, number] }>;
}
