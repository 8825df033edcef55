/**
 * Trainable embedding rows (docs/methods.md §8 step 3): the rows from `start` on (the added tokens)
 * of the input embedding, and of an untied output head, become variables; every other weight stays
 * frozen. During a step install() swaps the model's matrices for concat(frozen prefix, variable)
 * so gradients reach the rows; the caller restores them right after. With a tied head the same
 * rows serve both ends, as in the model.
 */
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../model/model';

export interface RowsSnapshot {
  start: number;
  dim: number;
  embed: Float32Array;
  head?: Float32Array;
}

/** The optimizer keys of the rows (their AdamW moments are stored under the same names). */
export const ROW_KEYS = { embed: 'rows.embed', head: 'rows.head' } as const;

/** A named tensor as a checkpoint file stores it (formats/checkpoint.ts `trainable/<name>`). */
export interface NamedRows {
  shape: number[];
  data: Float32Array;
}

/**
 * A rows snapshot as named tensors for a checkpoint file: `rows.embed` (and `rows.head` when untied),
 * each [rows, dim], under the optimizer's keys so the AdamW moments get the same shapes.
 */
export function rowsToTensors(s: RowsSnapshot): Record<string, NamedRows> {
  const n = s.embed.length / s.dim;
  const out: Record<string, NamedRows> = { [ROW_KEYS.embed]: { shape: [n, s.dim], data: s.embed } };
  if (s.head) out[ROW_KEYS.head] = { shape: [n, s.dim], data: s.head };
  return out;
}

/**
 * The inverse of rowsToTensors: the snapshot a resumed Trainer starts its rows from. `start` is the
 * run's config.trainRowsFrom; a file that lacks the rows (or has them in another shape) is refused,
 * since resuming from the model's initial rows would silently leave the trajectory.
 */
export function rowsFromTensors(t: Record<string, NamedRows>, start: number, fileName: string): RowsSnapshot {
  const e = t[ROW_KEYS.embed];
  if (!e || e.shape.length !== 2)
    throw new Error(
      `${fileName}: the run trains embedding rows (from id ${start}) but the checkpoint holds no trainable/${ROW_KEYS.embed} [rows, dim] tensor`,
    );
  const [n, dim] = e.shape;
  const h = t[ROW_KEYS.head];
  if (h && (h.shape[0] !== n || h.shape[1] !== dim))
    throw new Error(
      `${fileName}: trainable/${ROW_KEYS.head} is [${h.shape}] but trainable/${ROW_KEYS.embed} is [${e.shape}]`,
    );
  return { start, dim, embed: e.data, ...(h ? { head: h.data } : {}) };
}

export class TrainableRows {
  readonly vars: tf.Variable[];
  readonly keys: string[];
  private readonly embedPrefix: tf.Tensor2D;
  private readonly headPrefix: tf.Tensor2D | null;

  private constructor(
    readonly start: number,
    readonly embed: tf.Variable<tf.Rank.R2>,
    readonly head: tf.Variable<tf.Rank.R2> | null,
    model: LoadedModel,
  ) {
    const w = model.weights;
    this.embedPrefix = tf.slice(w.embed, [0, 0], [start, model.config.dim]);
    this.headPrefix = w.lmHead && head ? tf.slice(w.lmHead, [0, 0], [start, model.config.dim]) : null;
    this.vars = head ? [embed, head] : [embed];
    this.keys = head ? [ROW_KEYS.embed, ROW_KEYS.head] : [ROW_KEYS.embed];
  }

  /** Rows [start, vocab) of the model (or of a snapshot, when resuming) become trainable. */
  static create(model: LoadedModel, start: number, from?: RowsSnapshot): TrainableRows {
    const { vocabSize: V, dim } = model.config;
    if (!(start >= 1 && start < V))
      throw new Error(`trainable rows: first row ${start} is outside the vocabulary (1..${V - 1})`);
    const n = V - start;
    if (from && (from.start !== start || from.embed.length !== n * dim))
      throw new Error(
        `checkpoint rows (from ${from.start}, ${from.embed.length / dim}) do not match the model (from ${start}, ${n})`,
      );
    const embed = tf.variable(
      from ? tf.tensor2d(from.embed, [n, dim]) : tf.slice(model.weights.embed, [start, 0], [n, dim]),
      true,
      `rows_embed_${start}_${Date.now()}_${Math.random()}`,
    ) as tf.Variable<tf.Rank.R2>;
    let head: tf.Variable<tf.Rank.R2> | null = null;
    if (model.weights.lmHead) {
      const init = from?.head ? tf.tensor2d(from.head, [n, dim]) : tf.slice(model.weights.lmHead, [start, 0], [n, dim]);
      head = tf.variable(init, true, `rows_head_${start}_${Date.now()}_${Math.random()}`) as tf.Variable<tf.Rank.R2>;
    }
    return new TrainableRows(start, embed, head, model);
  }

  /** Swaps in concat(prefix, rows); returns the function that puts the original matrices back. Call inside a tape/tidy. */
  install(model: LoadedModel): () => void {
    const w = model.weights;
    const oldEmbed = w.embed;
    const oldHead = w.lmHead;
    w.embed = tf.concat([this.embedPrefix, this.embed], 0) as tf.Tensor2D;
    w.trainableHead = true;
    if (this.head && this.headPrefix) w.lmHead = tf.concat([this.headPrefix, this.head], 0) as tf.Tensor2D;
    return () => {
      w.trainableHead = undefined;
      w.embed = oldEmbed;
      w.lmHead = oldHead;
    };
  }

  /** Full matrices with the trained rows (new tensors, caller owns them). */
  merged(): { embed: tf.Tensor2D; lmHead?: tf.Tensor2D } {
    return tf.tidy(() => ({
      embed: tf.concat([this.embedPrefix, this.embed], 0) as tf.Tensor2D,
      lmHead: this.head && this.headPrefix ? (tf.concat([this.headPrefix, this.head], 0) as tf.Tensor2D) : undefined,
    }));
  }

  async snapshot(): Promise<RowsSnapshot> {
    return {
      start: this.start,
      dim: this.embed.shape[1],
      embed: (await this.embed.data()) as Float32Array,
      head: this.head ? ((await this.head.data()) as Float32Array) : undefined,
    };
  }

  dispose(): void {
    this.embed.dispose();
    this.head?.dispose();
    this.embedPrefix.dispose();
    this.headPrefix?.dispose();
  }
}
