import type * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config';
import type { LinearName } from './weights';

/**
 * What the model layer needs to know about LoRA adapters: their shape and the state the forward pass
 * applies. The model layer never imports from `src/lib/lora` (which builds, saves and merges adapters
 * on top of these types), so the dependency runs one way: lora → model.
 */
export interface LoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  /** PEFT target names, e.g. ['q_proj','k_proj','v_proj','o_proj'] */
  targets: LinearName[];
  /** 'gaussian' = N(0, 1/r) (docs/methods.md §3), 'kaiming' = Kaiming-uniform as in PEFT */
  init: 'gaussian' | 'kaiming';
}

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

/** [out, in] of a target linear layer. */
export function linearShape(cfg: ModelConfig, name: LinearName): [number, number] {
  const q = cfg.nHeads * cfg.headDim;
  const kv = cfg.nKvHeads * cfg.headDim;
  switch (name) {
    case 'q_proj':
      return [q, cfg.dim];
    case 'k_proj':
    case 'v_proj':
      return [kv, cfg.dim];
    case 'o_proj':
      return [cfg.dim, q];
    case 'gate_proj':
    case 'up_proj':
      return [cfg.hiddenDim, cfg.dim];
    case 'down_proj':
      return [cfg.dim, cfg.hiddenDim];
  }
}
