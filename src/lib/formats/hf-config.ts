/**
 * Hugging Face `config.json` ↔ ModelConfig for the architectures the decoder supports:
 * LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM and GPT2LMHeadModel.
 */
import type { ModelConfig } from '../model/config';

export const SUPPORTED_ARCHITECTURES = [
  'LlamaForCausalLM',
  'MistralForCausalLM',
  'Qwen2ForCausalLM',
  'GPT2LMHeadModel',
] as const;
export type HfArchitecture = (typeof SUPPORTED_ARCHITECTURES)[number];

export type HfConfigJson = Record<string, unknown>;

export class HfConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HfConfigError';
  }
}

const GELU_ACTS = ['gelu_new', 'gelu_pytorch_tanh', 'gelu', 'gelu_fast'];

function firstId(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  return null;
}

/** Which supported architecture a config.json describes (from `architectures`, else `model_type`). */
export function hfArchitecture(cfg: HfConfigJson, fileName = 'config.json'): HfArchitecture {
  const archs = Array.isArray(cfg.architectures) ? (cfg.architectures as unknown[]).map(String) : [];
  for (const a of archs) if ((SUPPORTED_ARCHITECTURES as readonly string[]).includes(a)) return a as HfArchitecture;
  const byType: Record<string, HfArchitecture> = {
    llama: 'LlamaForCausalLM',
    mistral: 'MistralForCausalLM',
    qwen2: 'Qwen2ForCausalLM',
    gpt2: 'GPT2LMHeadModel',
  };
  if (archs.length === 0 && typeof cfg.model_type === 'string' && byType[cfg.model_type]) return byType[cfg.model_type];
  const what = archs.length ? `architectures ${JSON.stringify(archs)}` : `model_type ${JSON.stringify(cfg.model_type)}`;
  throw new HfConfigError(`${fileName}: unsupported ${what}; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`);
}

/** config.json → ModelConfig. Throws a one-line HfConfigError naming the field at fault. */
export function hfConfigToModelConfig(cfg: HfConfigJson, fileName = 'config.json'): ModelConfig {
  const c = readConfig(cfg, fileName);
  checkConfigRanges(c, fileName);
  return c;
}

/**
 * Values a decoder can run with: sizes, layer and head counts, vocabulary and context positive integers;
 * rope_theta and the norm epsilon positive and finite (0 layers, 0 positions or rope_theta 0 are refused).
 */
export function checkConfigRanges(c: ModelConfig, fileName = 'config.json'): void {
  const ints: [keyof ModelConfig, string][] = [
    ['dim', 'hidden size'],
    ['hiddenDim', 'intermediate size'],
    ['nLayers', 'layer count'],
    ['nHeads', 'attention heads'],
    ['nKvHeads', 'key/value heads'],
    ['headDim', 'head dim'],
    ['vocabSize', 'vocab_size'],
    ['maxSeqLen', 'max positions'],
  ];
  for (const [k, what] of ints) {
    const v = c[k] as number;
    if (!(Number.isInteger(v) && v > 0))
      throw new HfConfigError(`${fileName}: ${what} (${k}) is ${v}, expected a positive integer`);
  }
  if (c.position === 'rope' && !(c.ropeTheta > 0 && Number.isFinite(c.ropeTheta)))
    throw new HfConfigError(`${fileName}: rope_theta is ${c.ropeTheta}, expected a positive number`);
  if (!(c.normEps > 0 && Number.isFinite(c.normEps)))
    throw new HfConfigError(`${fileName}: norm epsilon is ${c.normEps}, expected a positive number`);
}

function readConfig(cfg: HfConfigJson, fileName: string): ModelConfig {
  const arch = hfArchitecture(cfg, fileName);
  const num = (key: string, fallback?: number): number => {
    const v = cfg[key];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw new HfConfigError(`${fileName}: missing "${key}"`);
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new HfConfigError(`${fileName}: "${key}" is ${JSON.stringify(v)}, expected a non-negative number`);
    return v;
  };

  if (arch === 'GPT2LMHeadModel') {
    const dim = num('n_embd');
    const nHeads = num('n_head');
    const act = String(cfg.activation_function ?? 'gelu_new');
    if (!GELU_ACTS.includes(act))
      throw new HfConfigError(`${fileName}: activation_function "${act}" is not supported (GELU variants only)`);
    if (dim % nHeads) throw new HfConfigError(`${fileName}: n_embd ${dim} is not divisible by n_head ${nHeads}`);
    return {
      arch: 'gpt2',
      dim,
      hiddenDim: num('n_inner', 4 * dim) || 4 * dim,
      nLayers: num('n_layer'),
      nHeads,
      nKvHeads: nHeads,
      headDim: dim / nHeads,
      vocabSize: num('vocab_size'),
      maxSeqLen: num('n_positions', num('n_ctx', 1024)),
      normEps: num('layer_norm_epsilon', 1e-5),
      norm: 'layer',
      position: 'learned',
      ropeTheta: 10000,
      ropeStyle: 'half',
      mlp: 'gelu',
      tiedEmbeddings: cfg.tie_word_embeddings === undefined ? true : Boolean(cfg.tie_word_embeddings),
      bias: { qkv: true, o: true, mlp: true },
      bosId: firstId(cfg.bos_token_id),
      eosId: firstId(cfg.eos_token_id),
    };
  }

  const act = String(cfg.hidden_act ?? 'silu');
  if (act !== 'silu' && act !== 'swish')
    throw new HfConfigError(`${fileName}: hidden_act "${act}" is not supported (SwiGLU/silu only)`);
  if (cfg.rope_scaling !== undefined && cfg.rope_scaling !== null) {
    const t =
      (cfg.rope_scaling as Record<string, unknown>).rope_type ?? (cfg.rope_scaling as Record<string, unknown>).type;
    if (t !== 'default')
      throw new HfConfigError(`${fileName}: rope_scaling ${JSON.stringify(t)} is not supported (plain RoPE only)`);
  }
  const dim = num('hidden_size');
  const nHeads = num('num_attention_heads');
  const headDim = num('head_dim', dim / nHeads);
  if (!Number.isInteger(headDim))
    throw new HfConfigError(`${fileName}: hidden_size ${dim} is not divisible by num_attention_heads ${nHeads}`);
  const nKvHeads = num('num_key_value_heads', nHeads);
  if (nHeads % nKvHeads)
    throw new HfConfigError(
      `${fileName}: num_attention_heads ${nHeads} is not a multiple of num_key_value_heads ${nKvHeads}`,
    );
  const isQwen = arch === 'Qwen2ForCausalLM';
  const attnBias = Boolean(cfg.attention_bias);
  return {
    arch: isQwen ? 'qwen2' : arch === 'MistralForCausalLM' ? 'mistral' : 'llama',
    dim,
    hiddenDim: num('intermediate_size'),
    nLayers: num('num_hidden_layers'),
    nHeads,
    nKvHeads,
    headDim,
    vocabSize: num('vocab_size'),
    maxSeqLen: num('max_position_embeddings', 2048),
    normEps: num('rms_norm_eps', 1e-6),
    norm: 'rms',
    position: 'rope',
    ropeTheta: num('rope_theta', 10000),
    ropeStyle: 'half',
    mlp: 'swiglu',
    tiedEmbeddings: Boolean(cfg.tie_word_embeddings ?? false),
    bias: { qkv: isQwen || attnBias, o: !isQwen && attnBias, mlp: Boolean(cfg.mlp_bias) },
    bosId: firstId(cfg.bos_token_id),
    eosId: firstId(cfg.eos_token_id),
  };
}

/**
 * ModelConfig → config.json for the merged export. llama2.c models become LlamaForCausalLM
 * (their q/k weights must be permuted to the half-rotation RoPE layout, see merged.ts).
 */
export function modelConfigToHfConfig(c: ModelConfig): HfConfigJson {
  if (c.arch === 'gpt2') {
    return {
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      n_embd: c.dim,
      n_head: c.nHeads,
      n_layer: c.nLayers,
      n_inner: c.hiddenDim,
      n_positions: c.maxSeqLen,
      n_ctx: c.maxSeqLen,
      vocab_size: c.vocabSize,
      layer_norm_epsilon: c.normEps,
      activation_function: 'gelu_new',
      tie_word_embeddings: c.tiedEmbeddings,
      bos_token_id: c.bosId,
      eos_token_id: c.eosId,
      torch_dtype: 'float32',
    };
  }
  const qwen = c.arch === 'qwen2';
  const mistral = c.arch === 'mistral';
  const out: HfConfigJson = {
    architectures: [qwen ? 'Qwen2ForCausalLM' : mistral ? 'MistralForCausalLM' : 'LlamaForCausalLM'],
    model_type: qwen ? 'qwen2' : mistral ? 'mistral' : 'llama',
    hidden_size: c.dim,
    intermediate_size: c.hiddenDim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    head_dim: c.headDim,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.maxSeqLen,
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    rope_scaling: null,
    hidden_act: 'silu',
    tie_word_embeddings: c.tiedEmbeddings,
    bos_token_id: c.bosId,
    eos_token_id: c.eosId,
    torch_dtype: 'float32',
  };
  if (!qwen) {
    out.attention_bias = c.bias.qkv;
    out.mlp_bias = c.bias.mlp;
  }
  return out;
}
