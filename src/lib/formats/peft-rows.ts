/**
 * PEFT export of trained embedding rows, PEFT's own way (peft ≥ 0.15 `trainable_token_indices`):
 * adapter_config.json gets {"trainable_token_indices": {"embed_tokens": [ids…]}} (plus "lm_head"
 * when the head is untied) and adapter_model.safetensors gets
 * `base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta` [n, dim] holding the
 * rows' values (PEFT copies them over the base rows; with tied embeddings the head follows).
 * The base model is the extended model folder written by `vocab`.
 */
import type { ModelConfig } from '../model/config';
import type { PeftFiles } from './peft';
import { readSafetensors, writeSafetensors, type WriteTensor } from './safetensors';
import type { RowsSnapshot } from '../train/trainable-rows';

/** Where PEFT keeps the trained rows of the input embedding and of an untied head. */
export const PEFT_ROW_TENSORS = {
  embed: 'base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta',
  head: 'base_model.model.lm_head.token_adapter.trainable_tokens_delta',
} as const;

export async function addTrainableTokens(files: PeftFiles, rows: RowsSnapshot, cfg: ModelConfig): Promise<PeftFiles> {
  if (cfg.arch === 'gpt2')
    throw new Error('PEFT export of embedding rows: only Llama-family models (embed_tokens / lm_head) are supported');
  const n = rows.embed.length / rows.dim;
  const ids = Array.from({ length: n }, (_, i) => rows.start + i);
  const { tensors, metadata } = await readSafetensors(files.weights, 'adapter_model.safetensors');
  const out = new Map<string, WriteTensor>();
  for (const [k, t] of tensors)
    out.set(k, {
      shape: t.shape,
      data: t.data,
      ...(t.dtype === 'F16' || t.dtype === 'BF16' ? { dtype: t.dtype } : {}),
    });
  out.set(PEFT_ROW_TENSORS.embed, {
    shape: [n, rows.dim],
    data: rows.embed,
  });
  const indices: Record<string, number[]> = { embed_tokens: ids };
  if (rows.head) {
    out.set(PEFT_ROW_TENSORS.head, { shape: [n, rows.dim], data: rows.head });
    indices.lm_head = ids;
  }
  return {
    adapterConfig: { ...files.adapterConfig, trainable_token_indices: indices },
    weights: writeSafetensors(out, metadata ?? { format: 'pt' }),
  };
}
