import * as tf from '@tensorflow/tfjs';
import type { ModelLike } from './forward';
import type { LoraState } from './adapter';
import { packBatch, disposeBatch, type TokenizedSeq } from './batch';
import { forwardHidden, lmHead, type KvCache } from './forward';
import { headLogprobs, maskedTokenLogprobs } from './logprobs';

export interface ScoreResult {
  sum: number;
  count: number;
  tokenLogprobs: number[];
}

/**
 * Log-probability of ids[start..] given the preceding tokens, for many items (docs/methods.md §1).
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
    while (
      i < order.length &&
      group.length < batchSize &&
      (group.length + 1) * Math.ceil(items[order[i]].ids.length / 16) * 16 <= maxTokens
    )
      group.push(order[i++]);
    const seqs = group.map((g) => {
      const it = items[g];
      if (it.start < 1 || it.start > it.ids.length)
        throw new Error(`score item has start ${it.start} outside 1..${it.ids.length}`);
      return it;
    });
    const batch = packBatch(seqs, model.config.maxSeqLen);
    const lp = tf.tidy(() => maskedTokenLogprobs(model, batch, opts.lora ?? null));
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

/**
 * Like scoreSequences for the choices of one item, computing their common prefix once: the prefix
 * (up to the first position any score needs) runs through the model with a KV cache, which is then
 * shared by all choices' continuations in one batched forward. Same numbers as scoreSequences
 * (within float rounding); about 1/n of the work when n choices share a long context.
 */
export async function scoreSharedPrefix(
  model: ModelLike,
  items: TokenizedSeq[],
  opts: { lora?: LoraState | null; minPrefix?: number } = {},
): Promise<ScoreResult[]> {
  if (items.length === 0) return [];
  let lcp = Math.min(...items.map((it) => it.ids.length));
  for (let i = 0; i < lcp; i++) {
    const v = items[0].ids[i];
    if (!items.every((it) => it.ids[i] === v)) {
      lcp = i;
      break;
    }
  }
  // Positions start-1 … L-2 produce the scored log-probs; the prefix must end before the first of them.
  const p = Math.min(lcp, Math.min(...items.map((it) => it.start)) - 1);
  if (p < (opts.minPrefix ?? 16) || items.length < 2) return scoreSequences(model, items, { lora: opts.lora });
  for (const it of items)
    if (it.start < 1 || it.start > it.ids.length)
      throw new Error(`score item has start ${it.start} outside 1..${it.ids.length}`);
  const n = items.length;
  const lora = opts.lora ?? null;
  const cache: KvCache = { length: 0, layers: [] };
  try {
    tf.tidy(() => {
      forwardHidden(model, tf.tensor2d(items[0].ids.slice(0, p), [1, p], 'int32'), { lora, cache });
    });
    // One copy of the prefix cache per choice.
    for (const l of cache.layers) {
      const k = tf.tile(l.k, [n, 1, 1, 1]) as tf.Tensor4D;
      const v = tf.tile(l.v, [n, 1, 1, 1]) as tf.Tensor4D;
      l.k.dispose();
      l.v.dispose();
      l.k = k;
      l.v = v;
    }
    // Continuation inputs ids[p .. L-2], right-padded; targets ids[p+1 .. L-1].
    const Ts = Math.max(...items.map((it) => it.ids.length - 1 - p));
    const inp = new Int32Array(n * Ts);
    const tgt = new Int32Array(n * Ts);
    items.forEach((it, b) => {
      for (let u = 0; u < it.ids.length - 1 - p; u++) {
        inp[b * Ts + u] = it.ids[p + u];
        tgt[b * Ts + u] = it.ids[p + u + 1];
      }
    });
    const lp = tf.tidy(() => {
      const h = forwardHidden(model, tf.tensor2d(inp, [n, Ts], 'int32'), { lora, cache });
      return headLogprobs(h, lmHead(model), tf.tensor1d(tgt, 'int32'));
    });
    const data = (await lp.data()) as Float32Array; // [n·Ts]
    lp.dispose();
    return items.map((it, b) => {
      const tl: number[] = [];
      let sum = 0;
      for (let t = it.start - 1; t < it.ids.length - 1; t++) {
        const v = data[b * Ts + (t - p)];
        tl.push(v);
        sum += v;
      }
      return { sum, count: tl.length, tokenLogprobs: tl };
    });
  } finally {
    for (const l of cache.layers) {
      l.k.dispose();
      l.v.dispose();
    }
  }
}
