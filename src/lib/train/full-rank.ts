/**
 * Full-rank training of chosen modules (the CLO paper updates the attention projections at full
 * rank, not with LoRA): the chosen weights of every layer become trainable variables in place of
 * the model's tensors; everything else stays frozen, and AdamW keeps state only for these weights
 * (the Trainer adds them to its variable list through `TrainerExtras`). The reference model
 * (DPO/ORPO/CLO) is the original weights, swapped back in for the reference pass.
 *
 * While attached, model.weights holds the trained weights, so exporting the model (exportMerged
 * with no LoRA) writes the merged model. detach() puts the original tensors back.
 */
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../model/model';
import type { Linear, LinearName, LinearWeight } from '../model/weights';
import { denseWeight } from '../model/packed-base';
import type { TrainerExtras } from './trainer';

let counter = 0;

export class FullRank implements TrainerExtras {
  readonly keys: string[] = [];
  readonly vars: tf.Variable[] = [];
  private readonly slots: { lin: Linear; orig: LinearWeight; v: tf.Variable }[] = [];

  constructor(
    readonly model: LoadedModel,
    readonly modules: LinearName[],
  ) {
    model.weights.layers.forEach((layer, i) => {
      for (const name of modules) {
        const lin = layer.linears[name];
        if (!lin) continue;
        // a packed frozen weight (model/packed-base.ts) trains from its dequantised values
        const dense = denseWeight(lin.w);
        const v = tf.variable(dense.t, true, `fullrank_${i}_${name}_${++counter}`);
        if (dense.owned) dense.t.dispose();
        this.slots.push({ lin, orig: lin.w, v });
        this.keys.push(`${i}.${name}.w`);
        this.vars.push(v);
        lin.w = v as unknown as tf.Tensor2D;
      }
    });
    if (this.slots.length === 0)
      throw new Error(`full-rank modules ${modules.join(', ')}: none of them exists in ${model.name}`);
  }

  /** Runs fn on the original (frozen) weights: the reference model. */
  reference<T>(fn: () => T): T {
    for (const s of this.slots) s.lin.w = s.orig;
    try {
      return fn();
    } finally {
      for (const s of this.slots) s.lin.w = s.v as unknown as tf.Tensor2D;
    }
  }

  /** Trained weights by key, for checkpoints. */
  async snapshot(): Promise<Record<string, Float32Array>> {
    const out: Record<string, Float32Array> = {};
    for (let i = 0; i < this.slots.length; i++) out[this.keys[i]] = (await this.slots[i].v.data()) as Float32Array;
    return out;
  }

  /** Loads weights saved by snapshot() (resume). */
  load(snap: Record<string, Float32Array>): void {
    this.slots.forEach((s, i) => {
      const d = snap[this.keys[i]];
      if (!d || d.length !== s.v.size)
        throw new Error(`full-rank checkpoint: missing or wrong-sized weight ${this.keys[i]}`);
      const t = tf.tensor(d, s.v.shape);
      s.v.assign(t);
      t.dispose();
    });
  }

  /** Number of trained parameters. */
  get size(): number {
    return this.vars.reduce((s, v) => s + v.size, 0);
  }

  /** Puts the original weights back and frees the trained copies. */
  detach(): void {
    for (const s of this.slots) {
      s.lin.w = s.orig;
      s.v.dispose();
    }
    this.slots.length = 0;
  }
}
