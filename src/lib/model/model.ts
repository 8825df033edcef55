import type { ModelConfig } from './config';
import type { ModelWeights } from './weights';
import type { Tokenizer } from '../tokenizer/types';

/** A loaded model: config + weights + tokenizer, with a name for provenance. */
export interface LoadedModel {
  name: string;
  config: ModelConfig;
  weights: ModelWeights;
  tokenizer: Tokenizer;
  /** Where it came from, e.g. 'stories260K', a path or a URL; written into adapter_config.json */
  source: string;
}
