import type { LoraConfig } from '../model/adapter';

// The adapter types live in the model layer (the forward pass applies them); re-exported here.
export type { LoraConfig, LoraPair, LoraState } from '../model/adapter';

export const DEFAULT_LORA: LoraConfig = {
  r: 8,
  alpha: 16,
  dropout: 0,
  targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
  init: 'gaussian',
};

/** Plain-array form for checkpoints, worker messages and export. */
export interface LoraSnapshot {
  config: LoraConfig;
  tensors: Record<string, { A: Float32Array; B: Float32Array; aShape: [number, number]; bShape: [number, number] }>;
}
