import { defaultConfig, type ModelConfig } from './config';

/**
 * Model shapes the benchmarks and memory tests use (weights are random; only the shape matters).
 * `big`: the 6-layer dim-256 model of bench/bench.ts. SmolLM2-135M and Qwen2.5-0.5B follow their
 * Hugging Face config.json (Llama-style, tied embeddings, 'half' RoPE).
 */
export const BIG_6L: ModelConfig = defaultConfig({
  arch: 'llama',
  dim: 256,
  hiddenDim: 688,
  nLayers: 6,
  nHeads: 8,
  nKvHeads: 8,
  vocabSize: 512,
  maxSeqLen: 512,
  ropeStyle: 'interleaved',
});

export const SMOLLM2_135M: ModelConfig = defaultConfig({
  arch: 'llama',
  dim: 576,
  hiddenDim: 1536,
  nLayers: 30,
  nHeads: 9,
  nKvHeads: 3,
  vocabSize: 49152,
  maxSeqLen: 2048,
  ropeTheta: 100000,
  ropeStyle: 'half',
  tiedEmbeddings: true,
  bosId: 1,
  eosId: 2,
});

export const QWEN25_05B: ModelConfig = defaultConfig({
  arch: 'llama',
  dim: 896,
  hiddenDim: 4864,
  nLayers: 24,
  nHeads: 14,
  nKvHeads: 2,
  vocabSize: 151936,
  maxSeqLen: 32768,
  normEps: 1e-6,
  ropeTheta: 1000000,
  ropeStyle: 'half',
  tiedEmbeddings: true,
  bias: { qkv: true, o: false, mlp: false },
  bosId: 151643,
  eosId: 151643,
});
