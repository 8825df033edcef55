/**
 * Tiny Hugging Face model folders written by the tests themselves: random weights, HF tensor names
 * produced here (independently of src/lib/formats/hf-weights.ts), chosen dtype, optional sharding.
 */
import * as tf from '@tensorflow/tfjs';
import { defaultConfig, type ModelConfig } from '../../src/lib/model/config';
import type { ModelWeights } from '../../src/lib/model/weights';
import { randomWeights } from '../../src/lib/model/random';
import { writeSafetensors, type WriteTensor } from '../../src/lib/formats/safetensors';

/** Rounds every value to k/256 with |k| ≤ 120: exactly representable in F16 and BF16. */
export function quantizeWeights(w: ModelWeights): ModelWeights {
  const q = <T extends tf.Tensor>(t: T): T => {
    const d = t.dataSync() as Float32Array;
    const out = new Float32Array(d.length);
    for (let i = 0; i < d.length; i++) out[i] = Math.max(-120, Math.min(120, Math.round(d[i] * 256))) / 256;
    const r = tf.tensor(out, t.shape) as T;
    t.dispose();
    return r;
  };
  return {
    embed: q(w.embed),
    posEmbed: w.posEmbed ? q(w.posEmbed) : undefined,
    layers: w.layers.map((l) => ({
      attnNorm: { w: q(l.attnNorm.w), b: l.attnNorm.b ? q(l.attnNorm.b) : undefined },
      mlpNorm: { w: q(l.mlpNorm.w), b: l.mlpNorm.b ? q(l.mlpNorm.b) : undefined },
      linears: Object.fromEntries(
        Object.entries(l.linears).map(([n, lin]) => [
          n,
          { w: q(lin!.w as tf.Tensor2D), b: lin!.b ? q(lin!.b) : undefined },
        ]),
      ),
    })),
    finalNorm: { w: q(w.finalNorm.w), b: w.finalNorm.b ? q(w.finalNorm.b) : undefined },
    lmHead: w.lmHead ? q(w.lmHead) : undefined,
  };
}

const arr = (t: tf.Tensor) => t.dataSync() as Float32Array;
function transpose(d: Float32Array, rows: number, cols: number): Float32Array {
  const o = new Float32Array(d.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) o[c * rows + r] = d[r * cols + c];
  return o;
}

/** HF names for a Llama/Qwen2 model (weights [out, in] as stored). */
export function llamaTensors(w: ModelWeights, dtype: WriteTensor['dtype']): Map<string, WriteTensor> {
  const m = new Map<string, WriteTensor>();
  const put = (n: string, t: tf.Tensor) => m.set(n, { shape: t.shape, data: arr(t), dtype });
  put('model.embed_tokens.weight', w.embed);
  w.layers.forEach((l, i) => {
    const p = `model.layers.${i}.`;
    for (const [n, lin] of Object.entries(l.linears)) {
      const mod = ['gate_proj', 'up_proj', 'down_proj'].includes(n) ? 'mlp' : 'self_attn';
      put(`${p}${mod}.${n}.weight`, lin!.w as tf.Tensor2D);
      if (lin!.b) put(`${p}${mod}.${n}.bias`, lin!.b);
    }
    put(`${p}input_layernorm.weight`, l.attnNorm.w);
    put(`${p}post_attention_layernorm.weight`, l.mlpNorm.w);
  });
  put('model.norm.weight', w.finalNorm.w);
  if (w.lmHead) put('lm_head.weight', w.lmHead);
  return m;
}

/** HF GPT-2 names as in the original checkpoint (no "transformer." prefix, Conv1D [in, out], fused c_attn). */
export function gpt2Tensors(w: ModelWeights, d: number, dtype: WriteTensor['dtype']): Map<string, WriteTensor> {
  const m = new Map<string, WriteTensor>();
  const put = (n: string, t: tf.Tensor) => m.set(n, { shape: t.shape, data: arr(t), dtype });
  const conv = (n: string, t: tf.Tensor2D) =>
    m.set(n, { shape: [t.shape[1], t.shape[0]], data: transpose(arr(t), t.shape[0], t.shape[1]), dtype });
  put('wte.weight', w.embed);
  put('wpe.weight', w.posEmbed!);
  w.layers.forEach((l, i) => {
    const p = `h.${i}.`;
    const L = l.linears;
    const qkv = new Float32Array(3 * d * d);
    qkv.set(arr(L.q_proj!.w as tf.Tensor2D), 0);
    qkv.set(arr(L.k_proj!.w as tf.Tensor2D), d * d);
    qkv.set(arr(L.v_proj!.w as tf.Tensor2D), 2 * d * d);
    m.set(`${p}attn.c_attn.weight`, { shape: [d, 3 * d], data: transpose(qkv, 3 * d, d), dtype });
    m.set(`${p}attn.c_attn.bias`, {
      shape: [3 * d],
      data: new Float32Array([...arr(L.q_proj!.b!), ...arr(L.k_proj!.b!), ...arr(L.v_proj!.b!)]),
      dtype,
    });
    conv(`${p}attn.c_proj.weight`, L.o_proj!.w as tf.Tensor2D);
    put(`${p}attn.c_proj.bias`, L.o_proj!.b!);
    conv(`${p}mlp.c_fc.weight`, L.up_proj!.w as tf.Tensor2D);
    put(`${p}mlp.c_fc.bias`, L.up_proj!.b!);
    conv(`${p}mlp.c_proj.weight`, L.down_proj!.w as tf.Tensor2D);
    put(`${p}mlp.c_proj.bias`, L.down_proj!.b!);
    put(`${p}ln_1.weight`, l.attnNorm.w);
    put(`${p}ln_1.bias`, l.attnNorm.b!);
    put(`${p}ln_2.weight`, l.mlpNorm.w);
    put(`${p}ln_2.bias`, l.mlpNorm.b!);
    // old checkpoints carry these buffers; the loader must ignore them
    m.set(`${p}attn.bias`, { shape: [1, 1, 4, 4], data: new Float32Array(16).fill(1), dtype });
  });
  put('ln_f.weight', w.finalNorm.w);
  put('ln_f.bias', w.finalNorm.b!);
  return m;
}

/** A character-level BPE tokenizer.json over `vocabSize` ids: <s>=0, </s>=1, then letters. */
export function tinyTokenizer(vocabSize: number, addBos: boolean): { tokenizerJson: object; tokenizerConfig: object } {
  const vocab: Record<string, number> = { '<s>': 0, '</s>': 1 };
  const letters = 'abcdefghijklmnopqrstuvwxyz .,!?';
  for (let i = 2; i < vocabSize; i++)
    vocab[letters[(i - 2) % letters.length] + (i - 2 >= letters.length ? String(i) : '')] = i;
  return {
    tokenizerJson: {
      version: '1.0',
      added_tokens: [
        { id: 0, content: '<s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
        { id: 1, content: '</s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      ],
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: { type: 'Fuse' },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        vocab,
        merges: [],
      },
    },
    tokenizerConfig: {
      bos_token: '<s>',
      eos_token: '</s>',
      add_bos_token: addBos,
      chat_template: '{% for m in messages %}{{ m.content }}{% endfor %}',
    },
  };
}

export type Arch = 'llama' | 'qwen2' | 'gpt2';

export function tinyConfig(arch: Arch): ModelConfig {
  if (arch === 'gpt2')
    return defaultConfig({
      arch: 'gpt2',
      dim: 16,
      nLayers: 2,
      nHeads: 2,
      vocabSize: 40,
      hiddenDim: 64,
      maxSeqLen: 32,
      norm: 'layer',
      position: 'learned',
      mlp: 'gelu',
      tiedEmbeddings: true,
      bias: { qkv: true, o: true, mlp: true },
      normEps: 1e-5,
      bosId: 0,
      eosId: 1,
    });
  if (arch === 'qwen2')
    return defaultConfig({
      arch: 'qwen2',
      dim: 16,
      nLayers: 2,
      nHeads: 4,
      nKvHeads: 2,
      vocabSize: 40,
      hiddenDim: 24,
      maxSeqLen: 64,
      tiedEmbeddings: true,
      bias: { qkv: true, o: false, mlp: false },
      normEps: 1e-6,
      ropeTheta: 1e6,
      bosId: 0,
      eosId: 1,
    });
  return defaultConfig({
    arch: 'llama',
    dim: 16,
    nLayers: 2,
    nHeads: 4,
    nKvHeads: 2,
    vocabSize: 40,
    hiddenDim: 24,
    maxSeqLen: 64,
    tiedEmbeddings: false,
    normEps: 1e-5,
    bosId: 0,
    eosId: 1,
  });
}

/** config.json as Hugging Face writes it for each architecture (field names typed here by hand). */
export function hfConfigJson(c: ModelConfig): Record<string, unknown> {
  if (c.arch === 'gpt2')
    return {
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      n_embd: c.dim,
      n_head: c.nHeads,
      n_layer: c.nLayers,
      n_positions: c.maxSeqLen,
      n_ctx: c.maxSeqLen,
      n_inner: null,
      vocab_size: c.vocabSize,
      layer_norm_epsilon: c.normEps,
      activation_function: 'gelu_new',
      bos_token_id: 0,
      eos_token_id: 1,
    };
  return {
    architectures: [c.arch === 'qwen2' ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'],
    model_type: c.arch,
    hidden_size: c.dim,
    intermediate_size: c.hiddenDim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.maxSeqLen,
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    hidden_act: 'silu',
    tie_word_embeddings: c.tiedEmbeddings,
    bos_token_id: 0,
    eos_token_id: c.arch === 'qwen2' ? [1] : 1,
    rope_scaling: null,
  };
}

export interface Fixture {
  config: ModelConfig;
  weights: ModelWeights;
  files: Record<string, Uint8Array | string>;
}

/** A complete HF folder; `shards` > 1 splits the tensors over files with an index. */
export function hfFixture(arch: Arch, dtype: WriteTensor['dtype'], shards = 1, seed = 3): Fixture {
  const config = tinyConfig(arch);
  const weights = quantizeWeights(randomWeights(config, seed));
  const tensors = arch === 'gpt2' ? gpt2Tensors(weights, config.dim, dtype) : llamaTensors(weights, dtype);
  const files: Record<string, Uint8Array | string> = {};
  files['config.json'] = JSON.stringify(hfConfigJson(config));
  const tok = tinyTokenizer(config.vocabSize, arch === 'llama');
  files['tokenizer.json'] = JSON.stringify(tok.tokenizerJson);
  files['tokenizer_config.json'] = JSON.stringify(tok.tokenizerConfig);
  if (shards === 1) {
    files['model.safetensors'] = writeSafetensors(tensors, { format: 'pt' });
  } else {
    const names = [...tensors.keys()];
    const weightMap: Record<string, string> = {};
    for (let s = 0; s < shards; s++) {
      const file = `model-0000${s + 1}-of-0000${shards}.safetensors`;
      const part = new Map(names.filter((_, i) => i % shards === s).map((n) => [n, tensors.get(n)!]));
      for (const n of part.keys()) weightMap[n] = file;
      files[file] = writeSafetensors(part, { format: 'pt' });
    }
    files['model.safetensors.index.json'] = JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap });
  }
  return { config, weights, files };
}
