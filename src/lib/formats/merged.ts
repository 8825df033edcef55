/**
 * Merged export: base + (alpha/r)·B·A written as a Hugging Face model folder
 * (config.json, model.safetensors, tokenizer files, generation_config.json).
 *
 * llama2.c models (stories260K) become LlamaForCausalLM. llama2.c rotates adjacent pairs
 * (2i, 2i+1) of each head, HF Llama rotates halves (i, i + d/2); the q and k rows of every head are
 * reordered so new row i = old 2i and new row d/2 + i = old 2i + 1 (the permutation HF's
 * convert_llama_weights_to_hf.py applies). Attention scores are unchanged because q and k get
 * the same reordering. The tok512 tokenizer is rebuilt as tokenizer.json (tok512-to-hf.ts).
 */
import type * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../model/model';
import type { ModelConfig } from '../model/config';
import type { LoraState } from '../lora/types';
import { namedTensors } from '../model/weights';
import { mergeLora } from '../lora/lora';
import { HfTokenizer } from '../tokenizer/hf';
import { Tok512Tokenizer } from '../tokenizer/tok512';
import { modelConfigToHfConfig } from './hf-config';
import { weightsToHfTensors } from './hf-weights';
import { writeSafetensors } from './safetensors';
import { parseTok512, tok512ToHfTokenizer } from './tok512-to-hf';
import { permuteInterleavedToHalf } from './rope-layout';

export { permuteInterleavedToHalf };

export interface MergedExportOptions {
  /** the tok512.bin bytes when the model uses a llama2.c tokenizer */
  tok512Bytes?: Uint8Array;
  dtype?: 'F32' | 'F16' | 'BF16';
}

function json(v: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(v, null, 2) + '\n');
}

/** Writes the merged model; returns file name → bytes. The base weights are not modified. */
export async function exportMerged(
  model: LoadedModel,
  lora: LoraState | null,
  opts: MergedExportOptions = {},
): Promise<Map<string, Uint8Array>> {
  const c = model.config;
  const interleaved = c.ropeStyle === 'interleaved';
  const outCfg: ModelConfig = { ...c, arch: c.arch === 'llama2c' ? 'llama' : c.arch, ropeStyle: 'half' };
  const merged = lora ? mergeLora(model.weights, lora) : model.weights;
  let tensors;
  try {
    tensors = await weightsToHfTensors(merged, outCfg);
  } finally {
    if (lora) {
      const base = new Set<tf.Tensor>(namedTensors(model.weights).values());
      for (const t of namedTensors(merged).values()) if (!base.has(t)) t.dispose();
    }
  }
  if (interleaved) {
    for (let l = 0; l < c.nLayers; l++) {
      for (const [name, heads] of [
        ['q_proj', c.nHeads],
        ['k_proj', c.nKvHeads],
      ] as const) {
        for (const suffix of ['weight', 'bias']) {
          const key = `model.layers.${l}.self_attn.${name}.${suffix}`;
          const t = tensors.get(key);
          if (!t) continue;
          const cols = t.shape.length === 2 ? t.shape[1] : 1;
          t.data = permuteInterleavedToHalf(t.data as Float32Array, heads, c.headDim, cols);
        }
      }
    }
  }
  if (opts.dtype && opts.dtype !== 'F32') for (const t of tensors.values()) t.dtype = opts.dtype;
  const files = new Map<string, Uint8Array>();
  const hfCfg = modelConfigToHfConfig(outCfg);
  if (opts.dtype === 'F16') hfCfg.torch_dtype = 'float16';
  if (opts.dtype === 'BF16') hfCfg.torch_dtype = 'bfloat16';
  files.set('config.json', json(hfCfg));
  files.set('generation_config.json', json({ bos_token_id: c.bosId, eos_token_id: c.eosId, do_sample: false }));
  files.set('model.safetensors', writeSafetensors(tensors, { format: 'pt' }));

  if (model.tokenizer instanceof HfTokenizer) {
    files.set('tokenizer.json', json(model.tokenizer.tokenizerJson));
    files.set('tokenizer_config.json', json(model.tokenizer.tokenizerConfig));
  } else if (model.tokenizer instanceof Tok512Tokenizer || opts.tok512Bytes) {
    const tk = model.tokenizer;
    const pieces =
      tk instanceof Tok512Tokenizer
        ? tk.pieces.map((piece, i) => ({ piece, score: tk.scores[i] }))
        : parseTok512(opts.tok512Bytes!, c.vocabSize);
    const t = tok512ToHfTokenizer(pieces, { bosId: c.bosId ?? 1, eosId: c.eosId ?? 2, maxLength: c.maxSeqLen });
    files.set('tokenizer.json', json(t.tokenizerJson));
    files.set('tokenizer_config.json', json(t.tokenizerConfig));
    files.set('special_tokens_map.json', json(t.specialTokensMap));
  } else {
    throw new Error(
      `merged export of ${model.name}: no tokenizer to write (pass the tok512.bin bytes for a llama2.c model)`,
    );
  }
  return files;
}
