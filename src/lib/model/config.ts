/**
 * Architecture description shared by every loader (llama2.c, Hugging Face) and the forward pass.
 * One decoder covers Llama, Mistral, Qwen2 (q/k/v biases) and GPT-2 (LayerNorm, learned positions, GELU).
 */
export type RopeStyle = 'interleaved' | 'half';

export interface ModelConfig {
  /** 'llama' | 'mistral' | 'qwen2' | 'gpt2' | 'llama2c' */
  arch: string;
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  vocabSize: number;
  maxSeqLen: number;
  normEps: number;
  /** 'rms' (Llama family) or 'layer' (GPT-2, with bias) */
  norm: 'rms' | 'layer';
  /** 'rope' (Llama family) or 'learned' (GPT-2 absolute position embeddings) */
  position: 'rope' | 'learned';
  ropeTheta: number;
  /** llama2.c rotates adjacent pairs (2i, 2i+1); Hugging Face rotates halves (i, i + d/2). */
  ropeStyle: RopeStyle;
  /** 'swiglu': down(silu(gate x) * up x); 'gelu': down(gelu(up x)) */
  mlp: 'swiglu' | 'gelu';
  tiedEmbeddings: boolean;
  /** which linear layers carry a bias */
  bias: { qkv: boolean; o: boolean; mlp: boolean };
  bosId: number | null;
  eosId: number | null;
}

export function defaultConfig(
  partial: Partial<ModelConfig> & Pick<ModelConfig, 'dim' | 'nLayers' | 'nHeads' | 'vocabSize'>,
): ModelConfig {
  const nKvHeads = partial.nKvHeads ?? partial.nHeads;
  return {
    arch: 'llama',
    hiddenDim: partial.hiddenDim ?? partial.dim * 4,
    nKvHeads,
    headDim: partial.headDim ?? partial.dim / partial.nHeads,
    maxSeqLen: 512,
    normEps: 1e-5,
    norm: 'rms',
    position: 'rope',
    ropeTheta: 10000,
    ropeStyle: 'half',
    mlp: 'swiglu',
    tiedEmbeddings: true,
    bias: { qkv: false, o: false, mlp: false },
    bosId: 1,
    eosId: 2,
    ...partial,
  };
}

export function countParams(c: ModelConfig): number {
  const q = c.dim * c.nHeads * c.headDim;
  const kv = 2 * c.dim * c.nKvHeads * c.headDim;
  const o = c.nHeads * c.headDim * c.dim;
  const mlp = (c.mlp === 'swiglu' ? 3 : 2) * c.dim * c.hiddenDim;
  const normW = c.norm === 'layer' ? 2 * c.dim : c.dim;
  let biases = 0;
  if (c.bias.qkv) biases += (c.nHeads + 2 * c.nKvHeads) * c.headDim;
  if (c.bias.o) biases += c.dim;
  if (c.bias.mlp) biases += c.hiddenDim * (c.mlp === 'swiglu' ? 2 : 1) + c.dim;
  const perLayer = q + kv + o + mlp + 2 * normW + biases;
  const emb = c.vocabSize * c.dim;
  const pos = c.position === 'learned' ? c.maxSeqLen * c.dim : 0;
  return emb + pos + c.nLayers * perLayer + normW + (c.tiedEmbeddings ? 0 : emb);
}
