import * as tf from '@tensorflow/tfjs';
import { adamwUpdate } from '../model/kernels/adamw/adamw';

/**
 * AdamW (decoupled weight decay) over a fixed list of variables, with global-norm clipping.
 * Hand-written rather than tf.train.adam: we need decoupled decay, a per-step learning rate,
 * and moments that can be exported to / restored from a checkpoint as plain arrays.
 */
export class AdamW {
  t = 0;
  /** First and second moments of all variables, flattened and concatenated in `vars` order. */
  readonly mFlat: tf.Variable;
  readonly vFlat: tf.Variable;
  private readonly sizes: number[];
  /**
   * The flat vector the last update split into the variables, kept while every variable still holds
   * its piece (each assign gives a variable a new dataId, so one assigned elsewhere is noticed): then
   * flatVars() needs no concatenation.
   */
  private flatP: tf.Tensor1D | null = null;
  private flatIds: object[] = [];

  constructor(
    readonly vars: tf.Variable[],
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-8,
  ) {
    this.sizes = vars.map((x) => x.size);
    const total = this.sizes.reduce((a, b) => a + b, 0);
    this.mFlat = tf.variable(tf.zeros([total]), false);
    this.vFlat = tf.variable(tf.zeros([total]), false);
  }

  /**
   * Tensors flattened and concatenated in order into one vector (a new tensor): the gradients once per
   * step (the norm, the finite check and the update all read it), or the variables (flatVars).
   */
  static flatten(ts: tf.Tensor[]): tf.Tensor1D {
    return tf.tidy(() =>
      ts.length === 1 ? (ts[0].reshape([-1]) as tf.Tensor1D) : tf.concat(ts.map((x) => x.reshape([-1]))),
    ) as tf.Tensor1D;
  }

  /**
   * The variables' values now, flattened in `vars` order (a new tensor; the order of the moments): the
   * flat vector of the last update while the variables hold its pieces, else their concatenation.
   */
  flatVars(): tf.Tensor1D {
    if (this.flatP && this.vars.every((x, i) => x.dataId === this.flatIds[i])) return tf.clone(this.flatP);
    return AdamW.flatten(this.vars);
  }

  /**
   * Apply one update; grads aligned with vars. clipScale multiplies the gradients (global-norm clipping).
   * The same update as applyFlat, with the gradients and variables flattened here.
   */
  apply(grads: tf.Tensor[], lr: number | number[], weightDecay: number, clipScale: tf.Tensor | number): void {
    if (this.vars.length === 0) {
      this.t += 1;
      return;
    }
    tf.tidy(() => this.applyFlat(AdamW.flatten(grads), this.flatVars(), lr, weightDecay, clipScale));
  }

  /**
   * Apply one update from the flat gradient `g` and the variables' values `p` as flatVars() gave them
   * this step. All variables are updated as one flat vector (model/kernels/adamw/: one dispatch on
   * webgpu, ~15 kernels elsewhere): the same float32 operations per element as updating each variable
   * on its own, in one update instead of one per variable (96 variables for LoRA on q,k,v,o of a
   * 12-layer model), which is what a WebGPU step pays in dispatches; the result is split back into the
   * variables. clipScale multiplies the gradients: a number, or a tensor whose first element is the scale
   * (gradNorm's result, model/kernels/grad-norm/, as it is).
   * `lr` is one rate for every variable, or one per variable (e.g. trainable embedding rows at their
   * own rate): neighbouring variables with the same rate share one filled block of the rate vector.
   */
  applyFlat(
    g: tf.Tensor1D,
    p: tf.Tensor1D,
    lr: number | number[],
    weightDecay: number,
    clipScale: tf.Tensor | number,
  ): void {
    this.t += 1;
    if (this.vars.length === 0) return;
    const bc1 = 1 - Math.pow(this.beta1, this.t);
    const bc2 = 1 - Math.pow(this.beta2, this.t);
    const k = { beta1: this.beta1, beta2: this.beta2, eps: this.eps, bc1, bc2, weightDecay };
    tf.tidy(() => {
      const state = { g, p, m: this.mFlat as tf.Tensor1D, v: this.vFlat as tf.Tensor1D };
      const { p: next, m, v } = adamwUpdate(state, this.rateOf(lr) as number | tf.Tensor1D, clipScale, k);
      this.mFlat.assign(m);
      this.vFlat.assign(v);
      const parts = this.vars.length === 1 ? [next] : tf.split(next, this.sizes);
      this.vars.forEach((x, i) => x.assign(parts[i].reshape(x.shape)));
      this.flatP?.dispose();
      this.flatP = tf.keep(next);
      this.flatIds = this.vars.map((x) => x.dataId);
    });
  }

  /** A scalar rate, or the per-element rate vector of per-variable rates (call inside a tidy). */
  private rateOf(lr: number | number[]): number | tf.Tensor {
    if (typeof lr === 'number') return lr;
    if (lr.length !== this.vars.length)
      throw new Error(`AdamW: ${lr.length} learning rates for ${this.vars.length} variables`);
    if (lr.every((x) => x === lr[0])) return lr[0];
    const blocks: tf.Tensor[] = [];
    let i = 0;
    while (i < lr.length) {
      let n = 0;
      let j = i;
      for (; j < lr.length && lr[j] === lr[i]; j++) n += this.sizes[j];
      blocks.push(tf.fill([n], lr[i]));
      i = j;
    }
    return tf.concat(blocks);
  }

  async exportState(
    keys: string[],
  ): Promise<{ t: number; m: Record<string, Float32Array>; v: Record<string, Float32Array> }> {
    const mAll = (await this.mFlat.data()) as Float32Array;
    const vAll = (await this.vFlat.data()) as Float32Array;
    const m: Record<string, Float32Array> = {};
    const v: Record<string, Float32Array> = {};
    let o = 0;
    this.sizes.forEach((n, i) => {
      m[keys[i]] = mAll.slice(o, o + n);
      v[keys[i]] = vAll.slice(o, o + n);
      o += n;
    });
    return { t: this.t, m, v };
  }

  importState(
    keys: string[],
    s: { t: number; m: Record<string, Float32Array>; v: Record<string, Float32Array> },
  ): void {
    const total = this.sizes.reduce((a, b) => a + b, 0);
    const mAll = new Float32Array(total);
    const vAll = new Float32Array(total);
    let o = 0;
    keys.forEach((k, i) => {
      if (!s.m[k] || !s.v[k]) throw new Error(`checkpoint has no optimizer state for ${k}`);
      const n = this.sizes[i];
      if (s.m[k].length !== n || s.v[k].length !== n)
        throw new Error(`checkpoint optimizer state for ${k} has ${s.m[k].length} values, the variable ${n}`);
      mAll.set(s.m[k], o);
      vAll.set(s.v[k], o);
      o += n;
    });
    this.t = s.t;
    tf.tidy(() => this.mFlat.assign(tf.tensor1d(mAll)));
    tf.tidy(() => this.vFlat.assign(tf.tensor1d(vAll)));
  }

  dispose(): void {
    this.flatP?.dispose();
    this.flatP = null;
    this.mFlat.dispose();
    this.vFlat.dispose();
  }
}
