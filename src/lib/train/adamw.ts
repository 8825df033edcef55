import * as tf from '@tensorflow/tfjs';

/**
 * AdamW (decoupled weight decay) over a fixed list of variables, with global-norm clipping.
 * Hand-written rather than tf.train.adam: we need decoupled decay, a per-step learning rate,
 * and moments that can be exported to / restored from a checkpoint as plain arrays.
 */
export class AdamW {
  t = 0;
  readonly m: tf.Variable[];
  readonly v: tf.Variable[];

  constructor(
    readonly vars: tf.Variable[],
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-8,
  ) {
    this.m = vars.map((x) => tf.variable(tf.zerosLike(x), false));
    this.v = vars.map((x) => tf.variable(tf.zerosLike(x), false));
  }

  /**
   * Global L2 norm of the gradients (a scalar tensor). Not tf.addN: on WebGPU (tfjs 4.22) AddN binds one
   * storage buffer per input, and with more than 7 inputs the pipeline is invalid and returns garbage silently;
   * stack (concat) splits its inputs into chunks that fit.
   */
  static globalNorm(grads: tf.Tensor[]): tf.Scalar {
    return tf.tidy(() => tf.sqrt(tf.sum(tf.stack(grads.map((g) => tf.sum(tf.square(g)))))) as tf.Scalar);
  }

  /** Apply one update; grads aligned with vars. clipScale multiplies the gradients (global-norm clipping). */
  apply(grads: tf.Tensor[], lr: number, weightDecay: number, clipScale: tf.Scalar | number): void {
    this.t += 1;
    const bc1 = 1 - Math.pow(this.beta1, this.t);
    const bc2 = 1 - Math.pow(this.beta2, this.t);
    tf.tidy(() => {
      this.vars.forEach((p, i) => {
        const g = tf.mul(grads[i], clipScale);
        const m = tf.add(tf.mul(this.m[i], this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(this.v[i], this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), this.eps));
        let next = tf.sub(p, tf.mul(update, lr));
        if (weightDecay > 0) next = tf.sub(next, tf.mul(p, lr * weightDecay));
        p.assign(next);
      });
    });
  }

  async exportState(
    keys: string[],
  ): Promise<{ t: number; m: Record<string, Float32Array>; v: Record<string, Float32Array> }> {
    const m: Record<string, Float32Array> = {};
    const v: Record<string, Float32Array> = {};
    for (let i = 0; i < this.vars.length; i++) {
      m[keys[i]] = (await this.m[i].data()) as Float32Array;
      v[keys[i]] = (await this.v[i].data()) as Float32Array;
    }
    return { t: this.t, m, v };
  }

  importState(
    keys: string[],
    s: { t: number; m: Record<string, Float32Array>; v: Record<string, Float32Array> },
  ): void {
    this.t = s.t;
    keys.forEach((k, i) => {
      if (!s.m[k] || !s.v[k]) throw new Error(`checkpoint has no optimizer state for ${k}`);
      tf.tidy(() => this.m[i].assign(tf.tensor(s.m[k], this.vars[i].shape)));
      tf.tidy(() => this.v[i].assign(tf.tensor(s.v[k], this.vars[i].shape)));
    });
  }

  dispose(): void {
    this.m.forEach((x) => x.dispose());
    this.v.forEach((x) => x.dispose());
  }
}
