import * as tf from '@tensorflow/tfjs';
import type { ModelLike } from './forward';
import type { LoraState } from '../lora/types';
import { packBatch, disposeBatch, tokenLogprobs, type TokenizedSeq } from '../objectives/logprobs';
import { forward } from './forward';

export interface ScoreResult {
  sum: number;
  count: number;
  tokenLogprobs: number[];
}

/**
 * Log-probability of ids[start..] given the preceding tokens, for many items (methods.md §1).
 * Items are sorted by length and batched (≤ batchSize sequences, ≤ maxTokens padded tokens per forward).
 */
export async function scoreSequences(
  model: ModelLike,
  items: TokenizedSeq[],
  opts: { lora?: LoraState | null; batchSize?: number; maxTokens?: number } = {},
): Promise<ScoreResult[]> {
  const batchSize = opts.batchSize ?? 16;
  const maxTokens = opts.maxTokens ?? 8192;
  const order = items.map((_, i) => i).sort((a, b) => items[a].ids.length - items[b].ids.length);
  const out: ScoreResult[] = new Array(items.length);
  let i = 0;
  while (i < order.length) {
    const group: number[] = [order[i++]];
    while (i < order.length && group.length < batchSize && (group.length + 1) * Math.ceil(items[order[i]].ids.length / 16) * 16 <= maxTokens) group.push(order[i++]);
    const seqs = group.map((g) => {
      const it = items[g];
      if (it.start < 1 || it.start > it.ids.length) throw new Error(`score item has start ${it.start} outside 1..${it.ids.length}`);
      return it;
    });
    const batch = packBatch(seqs, model.config.maxSeqLen);
    const lp = tf.tidy(() => {
      const logits = forward(model, batch.ids, { lora: opts.lora ?? null });
      return tf.mul(tokenLogprobs(logits, batch.targets), batch.mask);
    });
    const data = (await lp.data()) as Float32Array;
    lp.dispose();
    disposeBatch(batch);
    group.forEach((g, b) => {
      const it = items[g];
      const tl: number[] = [];
      let sum = 0;
      for (let t = it.start - 1; t < it.ids.length - 1; t++) {
        const v = data[b * batch.T + t];
        tl.push(v);
        sum += v;
      }
      out[g] = { sum, count: tl.length, tokenLogprobs: tl };
    });
  }
  return out;
}
