import type { ModelConfig } from './config';

/**
 * What a run record keeps of the model it was trained on: enough to reload it (name, kind, URL) and
 * to refuse an adapter that does not fit (the dimensions). Built by formats/model-spec.ts modelRef().
 */
export interface ModelRef {
  name: string;
  kind: 'embedded' | 'llama2c' | 'hf-files' | 'hf-url' | 'stored';
  /** the URL for URL-loaded models */
  url?: string;
  /** the shape an adapter must fit */
  dims: Pick<ModelConfig, 'arch' | 'dim' | 'hiddenDim' | 'nLayers' | 'nHeads' | 'nKvHeads' | 'headDim' | 'vocabSize'>;
}
