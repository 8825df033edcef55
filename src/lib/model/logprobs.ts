import * as tf from '@tensorflow/tfjs';
import { forwardHidden, lmHead, type ModelLike } from './forward';
import type { LoraState } from './adapter';
import type { PackedBatch } from './batch';
import { matMulFrozenT, matMulT } from './matmul';
import { kernelFor, plainProductsOnly } from './kernels/registry';
import { logSoftmaxPick, logSoftmaxPickGrad, type PickState } from './kernels/head-logprobs/head-logprobs';
import { gatherRows, sequenceSums } from './kernels/response-rows/response-rows';
import { rowBlocks as headRowBlocks } from './row-blocks';

/**
 * Per-token log-probabilities of the targets (docs/methods.md §1), without [B, T, V] tensors.
 *
 * The straightforward way (tokenLogprobs below) projects every position onto the vocabulary, takes a
 * log-softmax and picks the target: three [B·T, V] tensors, kept for the backward pass. headLogprobs
 * does the same arithmetic one block of rows (and, for large vocabularies, one block of the vocabulary)
 * at a time inside a custom gradient: the forward keeps only the hidden states and one log-sum-exp
 * per row; the backward recomputes each block's logits and turns them into that block's gradient
 * d h = (onehot − softmax) · W, so the peak grows with the block, not with T × V.
 * With a single vocabulary block the numbers are the same floats as tokenLogprobs: same logits,
 * same (l_t − max) − log Σ exp(l − max). Where the kernel registry has the fused log-softmax and pick
 * (kernels/head-logprobs/: webgpu), each block's chain of ops after the product is one kernel each way:
 * the same arithmetic, summed in another order.
 */

/** Values per logits block (rows × vocabulary columns): 2^22 floats = 16 MiB. */
export const DEFAULT_CHUNK_ELEMENTS = 1 << 22;
/**
 * Vocabularies above this are cut into blocks of VOCAB_CHUNK columns. Besides bounding memory, short
 * blocks keep the float32 sums of exponentials accurate: on wasm one reduction over 70,000 values is
 * ~1e-4 off a float64 reference, blocks of 4,096 combined as below stay within 1e-5
 * (tests/model/logprobs-chunked.test.ts).
 */
export const VOCAB_SPLIT_ABOVE = 16384;
export const VOCAB_CHUNK = 4096;

export interface ChunkOptions {
  /** values per logits block (default DEFAULT_CHUNK_ELEMENTS) */
  chunkElements?: number;
  /** vocabulary columns per block (default: whole vocabulary up to VOCAB_SPLIT_ABOVE, else VOCAB_CHUNK) */
  vocabChunk?: number;
}

/** Rows and vocabulary columns per block for N positions over a vocabulary of V. */
export function chunkPlan(N: number, V: number, o: ChunkOptions = {}): { rows: number; vocab: number } {
  const vocab = Math.max(1, Math.min(V, o.vocabChunk ?? (V > VOCAB_SPLIT_ABOVE ? VOCAB_CHUNK : V)));
  const rows = Math.max(1, Math.min(N, Math.floor((o.chunkElements ?? DEFAULT_CHUNK_ELEMENTS) / vocab)));
  return { rows, vocab };
}

/** Rows [v0, v0 + n) of the head: one block of the vocabulary. */
interface Piece {
  v0: number;
  n: number;
}

/**
 * The vocabulary blocks of a head of V rows: `vocab` rows each, and never across a row block of a head
 * that is read in row blocks (row-blocks.ts: larger than one storage binding), so that each block
 * comes from one of those.
 */
function headPieces(V: number, vocab: number, split: { rows: number } | null): Piece[] {
  const out: Piece[] = [];
  const R = split ? split.rows : V;
  for (let b0 = 0; b0 < V; b0 += R) {
    const end = Math.min(V, b0 + R);
    for (let v0 = b0; v0 < end; v0 += vocab) out.push({ v0, n: Math.min(vocab, end - v0) });
  }
  return out;
}

/** The head's rows of piece p [n, D]: from its row block when the head is split, else a slice. */
function pieceRows(w: tf.Tensor2D, p: Piece, split: ReturnType<typeof headRowBlocks>): tf.Tensor2D {
  if (!split) return p.n === w.shape[0] ? w : tf.slice(w, [p.v0, 0], [p.n, w.shape[1]]);
  const b = Math.floor(p.v0 / split.rows);
  const block = split.blocks[b];
  const r0 = p.v0 - b * split.rows;
  return r0 === 0 && p.n === block.shape[0] ? block : tf.slice(block, [r0, 0], [p.n, w.shape[1]]);
}

/**
 * Vocabulary blocks of the head on wasm: W_jᵀ [D, n_j], kept while W lives (4·V·D bytes, the guard's
 * keptCopies). Both products use them untransposed: logits h·W_jᵀ, and the backward's d hᵀ += W_jᵀ·dl_jᵀ.
 * Other backends slice W_j [n_j, D] when needed (on wasm a slice copies the whole head per piece).
 */
const headBlocks = new WeakMap<tf.Tensor, { key: string; wt: tf.Tensor2D[] }>();

function transposedBlocks(w: tf.Tensor2D, pieces: Piece[], split: ReturnType<typeof headRowBlocks>): tf.Tensor2D[] {
  const key = pieces.map((p) => p.n).join(',');
  let e = headBlocks.get(w);
  if (!e || e.key !== key || e.wt.some((t) => t.isDisposed)) {
    e?.wt.forEach((t) => t.dispose());
    const wt = pieces.map((p) => tf.keep(tf.tidy(() => tf.transpose(pieceRows(w, p, split)) as tf.Tensor2D)));
    e = { key, wt };
    headBlocks.set(w, e);
  }
  return e.wt;
}

/** Drop the cached column blocks of a head weight (when disposing a model). */
export function releaseHeadBlocks(w: tf.Tensor): void {
  const e = headBlocks.get(w);
  if (e) {
    e.wt.forEach((t) => t.dispose());
    headBlocks.delete(w);
  }
}

/**
 * log softmax(h Wᵀ)[target] for every row: h [N, D] hidden states (after the final norm), w [V, D]
 * the frozen output head, targets [N] int32 → [N]. Differentiable with respect to h only.
 */
export function headLogprobs(h: tf.Tensor2D, w: tf.Tensor2D, targets: tf.Tensor1D, o: ChunkOptions = {}): tf.Tensor1D {
  // a head larger than one storage binding is read in row blocks (row-blocks.ts)
  const split = headRowBlocks(w);
  // where the registry has the fused log-softmax and pick for this backend (webgpu), it replaces the chains
  // of tfjs ops over each block of logits (one kernel each way); the products stay as they are
  const fused = kernelFor('head-logprobs') === 'kernel';
  const [N] = h.shape;
  const V = w.shape[0];
  const { rows, vocab } = chunkPlan(N, V, o);
  const pieces = headPieces(V, vocab, split);
  const nv = pieces.length;
  /** Logits of rows h [n, D] against vocabulary block j: [n, n_j]. */
  const blockLogits = (hc: tf.Tensor2D, j: number): tf.Tensor2D => {
    if (nv === 1) return matMulFrozenT(hc, w);
    if (plainProductsOnly()) return tf.matMul(hc, transposedBlocks(w, pieces, split)[j]);
    return tf.matMul(hc, pieceRows(w, pieces[j], split), false, true);
  };
  const rowBlocks: [number, number][] = [];
  for (let r0 = 0; r0 < N; r0 += rows) rowBlocks.push([r0, Math.min(rows, N - r0)]);
  const oneHot = (t: tf.Tensor1D, j: number) => {
    const width = pieces[j].n;
    const local = pieces[j].v0 === 0 ? t : tf.sub(t, tf.scalar(pieces[j].v0, 'int32'));
    if (width < 2) return tf.cast(tf.equal(local, 0), 'float32').reshape([t.shape[0], 1]); // oneHot needs depth ≥ 2
    // int32 then cast: tfjs-wasm 4.22's OneHot writes int bits into a float32 output when asked for float32.
    return tf.cast(tf.oneHot(local, width), 'float32'); // out-of-block ids → zero rows
  };

  const f = tf.customGrad(((hi: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const lps: tf.Tensor[] = [];
    const lses: tf.Tensor[] = [];
    for (const [r0, n] of rowBlocks) {
      const [lp, lse] = tf.tidy(() => {
        const hc = n === N ? hi : tf.slice(hi, [r0, 0], [n, hi.shape[1]]);
        const tc = n === N ? targets : tf.slice(targets, [r0], [n]);
        if (fused) {
          // lp, lse and the target logit after each vocabulary block, one kernel a block
          let st: PickState | null = null;
          for (let j = 0; j < nv; j++) {
            const prev: PickState | null = st;
            const next: PickState = tf.tidy(() => logSoftmaxPick(blockLogits(hc, j), tc, pieces[j].v0, prev, nv === 1));
            if (prev) tf.dispose([prev.lp, prev.lse, prev.tl]);
            st = next;
          }
          const done = st!;
          done.tl.dispose();
          return [done.lp, done.lse];
        }
        if (nv === 1) {
          // Same operations, in the same order, as tf.logSoftmax followed by the one-hot pick.
          const l = blockLogits(hc, 0);
          const m = tf.max(l, -1, true);
          const shifted = tf.sub(l, m);
          const ls = tf.log(tf.sum(tf.exp(shifted), -1, true));
          const lp = tf.sum(tf.mul(tf.sub(shifted, ls), oneHot(tc, 0)), -1);
          return [lp, tf.add(m, ls).reshape([n])];
        }
        // Online log-sum-exp over vocabulary blocks; the target logit comes from the block that holds it.
        // Each block runs in its own tidy: only the running max, sum and target logit outlive it.
        let mAll: tf.Tensor | null = null;
        let sAll: tf.Tensor | null = null;
        let tl: tf.Tensor | null = null;
        for (let j = 0; j < nv; j++) {
          const [m2, s2, t2] = tf.tidy(() => {
            const l = blockLogits(hc, j);
            const m = tf.max(l, -1);
            const s = tf.sum(tf.exp(tf.sub(l, m.reshape([n, 1]))), -1);
            const t = tf.sum(tf.mul(l, oneHot(tc, j)), -1);
            if (!mAll || !sAll || !tl) return [m, s, t];
            const mNew: tf.Tensor = tf.maximum(mAll, m);
            return [
              mNew,
              tf.add(tf.mul(sAll, tf.exp(tf.sub(mAll, mNew))), tf.mul(s, tf.exp(tf.sub(m, mNew)))),
              tf.add(tl, t),
            ];
          });
          mAll?.dispose();
          sAll?.dispose();
          tl?.dispose();
          [mAll, sAll, tl] = [m2, s2, t2];
        }
        const lse = tf.add(mAll!, tf.log(sAll!));
        return [tf.sub(tl!, lse), lse];
      });
      lps.push(lp);
      lses.push(lse);
    }
    const value = lps.length === 1 ? lps[0] : tf.concat(lps);
    const lse = lses.length === 1 ? lses[0] : tf.concat(lses);
    save([hi, lse, targets]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [hs, lseS, tS] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
        // d lp / d logits = onehot − softmax, per block; d h = Σ_j (dy · (onehot − p_j)) · W_j.
        const parts: tf.Tensor[] = [];
        for (const [r0, n] of rowBlocks) {
          parts.push(
            tf.tidy(() => {
              const hc = n === N ? hs : tf.slice(hs, [r0, 0], [n, hs.shape[1]]);
              const tc = n === N ? tS : tf.slice(tS, [r0], [n]);
              const dyc = (n === N ? dy : tf.slice(dy, [r0], [n])).reshape([n, 1]);
              const lsec = (n === N ? lseS : tf.slice(lseS, [r0], [n])).reshape([n, 1]);
              // One vocabulary block at a time (its own tidy), only the running sum outlives a block.
              // With several blocks, d hᵀ = Σ_j W_jᵀ · (dl_j)ᵀ from the cached transposed blocks: a plain
              // product (no slice of W, which on wasm copies the whole head per piece).
              const plain = nv > 1 && plainProductsOnly();
              let acc: tf.Tensor | null = null;
              for (let j = 0; j < nv; j++) {
                const g = tf.tidy(() => {
                  const l = blockLogits(hc, j);
                  const dl = fused
                    ? logSoftmaxPickGrad(l, tc, lsec.reshape([n]), dyc.reshape([n]), pieces[j].v0)
                    : (tf.mul(tf.sub(oneHot(tc, j), tf.exp(tf.sub(l, lsec))), dyc) as tf.Tensor2D);
                  if (plain) return tf.matMul(transposedBlocks(w, pieces, split)[j], tf.transpose(dl));
                  return tf.matMul(dl, nv === 1 ? w : pieceRows(w, pieces[j], split));
                });
                if (!acc) acc = g;
                else {
                  const next: tf.Tensor = tf.add(acc, g);
                  acc.dispose();
                  g.dispose();
                  acc = next;
                }
              }
              if (plain) {
                const t = tf.transpose(acc!);
                acc!.dispose();
                acc = t;
              }
              return acc!;
            }),
          );
        }
        return parts.length === 1 ? parts[0] : tf.concat(parts);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(h) as tf.Tensor1D;
}

/**
 * The straightforward log softmax(logits)[target] at every position: [B, T]. Materialises [B, T, V]
 * three times; kept as the reference the chunked path is tested against. The target logit is picked
 * with a one-hot product (gather's gradient, UnsortedSegmentSum, is missing on the wasm backend).
 */
export function tokenLogprobs(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
  const V = logits.shape[2];
  return tf.sum(tf.mul(tf.logSoftmax(logits, -1), tf.oneHot(targets, V)), -1) as tf.Tensor2D;
}

export interface SequenceLogprobOptions extends ChunkOptions {
  /** recompute each block in the backward pass instead of keeping its activations */
  checkpointing?: boolean;
}

/**
 * Per-token target log-probs of a packed batch, masked to the response positions: [B, T]. Where the
 * batch lists its response rows, only those go through the output head (the prompt and padding
 * positions are most of a batch's rows, and the head is the largest product of a small model's step):
 * the hidden states of those rows are gathered, scored, and put back in place, zeros elsewhere.
 */
export function maskedTokenLogprobs(
  model: ModelLike,
  batch: PackedBatch,
  lora: LoraState | null,
  training = false,
  dropoutSeed?: number,
  o: SequenceLogprobOptions = {},
): tf.Tensor2D {
  const h = forwardHidden(model, batch.ids, { lora, training, dropoutSeed, checkpointing: o.checkpointing });
  const w = lmHead(model);
  const N = batch.B * batch.T;
  const targets = batch.targets.reshape([N]) as tf.Tensor1D;
  // headLogprobs treats the head as frozen (its gradient reaches h only). While embedding rows train
  // (vocabulary extension, tied or untied head rows) the head needs its gradient: the plain path.
  if (model.weights.trainableHead) {
    const lp = tokenLogprobs(matMulT(h, w).reshape([1, N, -1]) as tf.Tensor3D, targets.reshape([1, -1]) as tf.Tensor2D);
    return tf.mul(lp.reshape([batch.B, batch.T]), batch.mask) as tf.Tensor2D;
  }
  const rows = batch.responseRows;
  if (!rows || rows.length === N || rows.length === 0)
    return tf.mul(headLogprobs(h, w, targets, o).reshape([batch.B, batch.T]), batch.mask) as tf.Tensor2D;
  const picked = tf.tensor1d(rows, 'int32');
  const lp = headLogprobs(tf.gather(h, picked) as tf.Tensor2D, w, tf.gather(targets, picked) as tf.Tensor1D, o);
  // position i takes lp[slot[i]]; slot M, a zero appended to lp, where i is not a response row
  const M = rows.length;
  const slot = new Int32Array(N).fill(M);
  rows.forEach((r, j) => (slot[r] = j));
  return tf
    .gather(tf.concat([lp, tf.zeros([1])]), tf.tensor1d(slot, 'int32'))
    .reshape([batch.B, batch.T]) as tf.Tensor2D;
}

/**
 * Sum of response-token log-probs per sequence: [B]. Where the kernel registry has the response-row kernels
 * for the backend (webgpu), the scored rows' log-probs are summed per sequence directly (one kernel each way,
 * and one to put the rows' gradient back in place) instead of being scattered back to [B, T] and summed.
 */
export function sequenceLogprobs(
  model: ModelLike,
  batch: PackedBatch,
  lora: LoraState | null,
  training = false,
  dropoutSeed?: number,
  o: SequenceLogprobOptions = {},
): tf.Tensor1D {
  const rows = batch.responseRows;
  if (kernelFor('response-rows') !== 'kernel' || model.weights.trainableHead || !rows?.length)
    return tf.sum(maskedTokenLogprobs(model, batch, lora, training, dropoutSeed, o), 1) as tf.Tensor1D;
  const h = forwardHidden(model, batch.ids, { lora, training, dropoutSeed, checkpointing: o.checkpointing });
  // the targets of the response rows (from the batch's own values where it keeps them, else a gather)
  const targets = batch.responseTargets
    ? tf.tensor1d(batch.responseTargets, 'int32')
    : (tf.gather(batch.targets.reshape([batch.B * batch.T]), tf.tensor1d(rows, 'int32')) as tf.Tensor1D);
  const lp = headLogprobs(gatherRows(h, rows), lmHead(model), targets, o);
  // rows ascend, so each sequence's rows are one range: starts[b] = the first row at or past b·T
  const starts = new Int32Array(batch.B + 1);
  for (let b = 0, j = 0; b <= batch.B; b++) {
    while (j < rows.length && rows[j] < b * batch.T) j++;
    starts[b] = j;
  }
  return sequenceSums(lp, starts);
}
