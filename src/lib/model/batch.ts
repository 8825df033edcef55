import * as tf from '@tensorflow/tfjs';
import type { Tokenizer } from '../tokenizer/types';

/** A tokenized (prompt, response) pair: response tokens are ids[start..]. */
export interface TokenizedSeq {
  ids: number[];
  start: number;
}

/**
 * docs/methods.md §1: tokenize prompt+response as one text; response tokens are those past the prompt's
 * token count; EOS appended when `appendEos`; left-truncate prompt tokens (BOS kept) to fit maxSeqLen;
 * a response that alone does not fit throws.
 */
export function tokenizePair(
  tok: Tokenizer,
  prompt: string,
  response: string,
  maxSeqLen: number,
  appendEos: boolean,
): TokenizedSeq {
  const full = tok.encode(prompt + response);
  let start = tok.encode(prompt).length;
  if (appendEos && tok.eosId !== null) full.push(tok.eosId);
  if (start >= full.length) throw new Error('empty response');
  if (full.length <= maxSeqLen) return { ids: full, start };
  const drop = full.length - maxSeqLen;
  const keepHead = tok.bosId !== null && full[0] === tok.bosId ? 1 : 0;
  if (start - keepHead - drop < (keepHead ? 0 : 1))
    throw new Error(`response has ${full.length - start} tokens, more than max_seq_len ${maxSeqLen} allows`);
  const ids = [...full.slice(0, keepHead), ...full.slice(keepHead + drop)];
  start -= drop;
  return { ids, start };
}

export interface PackedBatch {
  ids: tf.Tensor2D; // int32 [B, T]
  targets: tf.Tensor2D; // int32 [B, T], targets[t] = ids[t+1]
  mask: tf.Tensor2D; // float32 [B, T], 1 on response positions
  /** the flat positions b·T + t where mask is 1, ascending (the rows the output head must score) */
  responseRows?: Int32Array;
  /** the targets at responseRows, in the same order */
  responseTargets?: Int32Array;
  B: number;
  T: number;
  /** response-token count per sequence */
  counts: number[];
  /** real (non-pad) tokens in the batch */
  tokens: number;
}

/** Pad to a multiple of `bucket` (fewer distinct shapes → fewer shader compilations). */
export function packBatch(seqs: TokenizedSeq[], maxLen: number, bucket = 16): PackedBatch {
  // The last token of a sequence is only ever a target: inputs are ids[0..L-2] (so a sequence of
  // maxSeqLen + 1 ids still fits a model with learned positions).
  const longest = Math.max(...seqs.map((s) => s.ids.length - 1));
  const T = Math.min(Math.max(maxLen, longest), Math.ceil(longest / bucket) * bucket);
  const B = seqs.length;
  const ids = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  const mask = new Float32Array(B * T);
  const counts: number[] = [];
  const rows: number[] = [];
  const rowTargets: number[] = [];
  let tokens = 0;
  seqs.forEach((s, b) => {
    const L = s.ids.length;
    tokens += L;
    for (let t = 0; t < L - 1; t++) ids[b * T + t] = s.ids[t];
    let c = 0;
    for (let t = 0; t < L - 1; t++) {
      targets[b * T + t] = s.ids[t + 1];
      if (t + 1 >= s.start) {
        mask[b * T + t] = 1;
        rows.push(b * T + t);
        rowTargets.push(s.ids[t + 1]);
        c++;
      }
    }
    counts.push(c);
  });
  return {
    ids: tf.tensor2d(ids, [B, T], 'int32'),
    targets: tf.tensor2d(targets, [B, T], 'int32'),
    mask: tf.tensor2d(mask, [B, T]),
    responseRows: Int32Array.from(rows),
    responseTargets: Int32Array.from(rowTargets),
    B,
    T,
    counts,
    tokens,
  };
}

export function disposeBatch(b: PackedBatch): void {
  b.ids.dispose();
  b.targets.dispose();
  b.mask.dispose();
}
