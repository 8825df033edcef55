import * as tf from '@tensorflow/tfjs';
import type { ModelLike } from '../model/forward';
import type { ModelWeights } from '../model/weights';
import type { TokenizedSeq } from '../model/batch';

/**
 * Reference (adapter off, no dropout) log-probs of DPO / CLO sequences, computed once per sequence and
 * kept for the run (TRL's precompute_ref_log_probs, done lazily: the first time a row is drawn).
 * Keys are content hashes of (token ids, response start), so the cache does not depend on row order
 * and survives a resume with the same data. Values are the float32 sums the per-step computation
 * would give, stored as numbers (exact), so a cached loss equals a recomputed one.
 */
export class ReferenceCache {
  private readonly map = new Map<string, number>();

  get size(): number {
    return this.map.size;
  }

  /** 64-bit content key of a tokenized sequence (two 32-bit FNV-1a variants), as 16 hex digits. */
  static key(s: TokenizedSeq): string {
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193 ^ s.start;
    const mix = (x: number) => {
      h1 = Math.imul(h1 ^ x, 0x01000193);
      h2 = Math.imul(h2 ^ x, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    };
    mix(s.start);
    mix(s.ids.length);
    for (const id of s.ids) mix(id);
    return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
  }

  get(s: TokenizedSeq): number | undefined {
    return this.map.get(ReferenceCache.key(s));
  }

  set(s: TokenizedSeq, v: number): void {
    this.map.set(ReferenceCache.key(s), v);
  }

  /** Plain object for checkpoints (JSON- and structured-clone-safe). */
  export(): Record<string, number> {
    return Object.fromEntries(this.map);
  }

  import(rec: Record<string, number> | undefined): void {
    if (!rec) return;
    for (const [k, v] of Object.entries(rec)) if (typeof v === 'number') this.map.set(k, v);
  }

  /**
   * Reference log-probs for `seqs` as a [n] tensor, from the cache; sequences not cached yet are
   * scored with `compute` (given only those sequences, in order) and stored first.
   */
  async lookup(seqs: TokenizedSeq[], compute: (missing: TokenizedSeq[]) => tf.Tensor1D): Promise<tf.Tensor1D> {
    const { ref, pending } = this.lookupDeferred(seqs, compute);
    if (pending) this.store(pending, (await pending.values.data()) as Float32Array);
    pending?.values.dispose();
    return ref;
  }

  /**
   * lookup without reading anything back: the [n] tensor for `seqs` (the computed values for the
   * sequences not cached yet, the cached numbers for the others, the same float32 values either way),
   * and the sequences still to store with their values as a tensor the caller owns. The caller reads
   * `pending.values` together with whatever else it reads (a training step reads once), then store().
   */
  lookupDeferred(
    seqs: TokenizedSeq[],
    compute: (missing: TokenizedSeq[]) => tf.Tensor1D,
  ): { ref: tf.Tensor1D; pending: PendingReference | null } {
    const keys = seqs.map((s) => ReferenceCache.key(s));
    const at = keys.map((k) => !this.map.has(k));
    const missing = seqs.filter((_, i) => at[i]);
    if (missing.length === 0) return { ref: tf.tensor1d(keys.map((k) => this.map.get(k)!)), pending: null };
    const values = compute(missing);
    if (missing.length === seqs.length) return { ref: tf.clone(values), pending: { seqs: missing, values } };
    // computed values first, then the cached ones; a gather puts each back in its sequence's place
    let m = 0;
    let c = missing.length;
    const index = at.map((miss) => (miss ? m++ : c++));
    const cached = keys.filter((_, i) => !at[i]).map((k) => this.map.get(k)!);
    const ref = tf.tidy(() => tf.gather(tf.concat([values, tf.tensor1d(cached)]), tf.tensor1d(index, 'int32')));
    return { ref: ref as tf.Tensor1D, pending: { seqs: missing, values } };
  }

  /** Stores the values read from a PendingReference (in its order). */
  store(p: Pick<PendingReference, 'seqs'>, values: ArrayLike<number>): void {
    p.seqs.forEach((s, i) => this.set(s, values[i]));
  }
}

/** Reference log-probs computed in a step but not read yet (ReferenceCache.lookupDeferred). */
export interface PendingReference {
  seqs: TokenizedSeq[];
  /** [seqs.length] */
  values: tf.Tensor1D;
}

/**
 * The model the reference is computed with: the weights as they are when the run starts. Any weight
 * that is a tf.Variable (trainable, e.g. embedding rows the vocabulary step trains) is copied, so later
 * updates to it do not move the reference; frozen tensors are shared. Returns the copies to dispose.
 */
export function frozenReferenceModel(model: ModelLike): { model: ModelLike; owned: tf.Tensor[] } {
  const owned: tf.Tensor[] = [];
  const freeze = <T extends tf.Tensor | undefined>(t: T): T => {
    if (t instanceof tf.Variable) {
      const c = tf.keep(tf.clone(t)) as unknown as T;
      owned.push(c as unknown as tf.Tensor);
      return c;
    }
    return t;
  };
  const w = model.weights;
  const weights: ModelWeights = {
    embed: freeze(w.embed),
    posEmbed: freeze(w.posEmbed),
    layers: w.layers.map((l) => ({
      attnNorm: { w: freeze(l.attnNorm.w), b: freeze(l.attnNorm.b) },
      mlpNorm: { w: freeze(l.mlpNorm.w), b: freeze(l.mlpNorm.b) },
      linears: Object.fromEntries(
        Object.entries(l.linears).map(([k, lin]) => [
          k,
          lin && { w: lin.w instanceof tf.Tensor ? freeze(lin.w) : lin.w, b: freeze(lin.b) },
        ]),
      ),
    })),
    finalNorm: { w: freeze(w.finalNorm.w), b: freeze(w.finalNorm.b) },
    lmHead: freeze(w.lmHead),
  };
  return { model: { config: model.config, weights }, owned };
}
