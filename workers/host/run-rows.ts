/**
 * A run's trained embedding rows over the loaded model. A run that trains the added tokens' rows
 * (config.trainRowsFrom) keeps them in its checkpoint (TrainCheckpoint.rows); whatever uses the run
 * (generation, evaluation, the merged export) needs the model with those rows in place, as the CLI's
 * `train` writes it to OUT/model. Used by every worker that reads a run's checkpoint.
 */
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../../src/lib/model/model';
import type { RowsSnapshot } from '../../src/lib/train/trainable-rows';

export interface ModelWithRows {
  model: LoadedModel;
  /** frees the swapped-in matrices (the loaded model's own weights stay) */
  dispose: () => void;
}

/** The model with rows [start, vocab) of its embedding (and untied head) replaced by the snapshot's; as is without rows. */
export function withTrainedRows(m: LoadedModel, rows: RowsSnapshot | undefined, runName: string): ModelWithRows {
  if (!rows) return { model: m, dispose: () => undefined };
  const { vocabSize: V, dim } = m.config;
  const n = V - rows.start;
  if (rows.dim !== dim || n < 1 || rows.embed.length !== n * dim)
    throw new Error(
      `the trained embedding rows of "${runName}" (from id ${rows.start}, ${rows.embed.length / rows.dim} rows of dim ${rows.dim}) do not fit ${m.name} (vocab ${V}, dim ${dim})`,
    );
  const swap = (full: tf.Tensor2D, data: Float32Array) =>
    tf.tidy(
      () => tf.concat([tf.slice(full, [0, 0], [rows.start, dim]), tf.tensor2d(data, [n, dim])], 0) as tf.Tensor2D,
    );
  const embed = swap(m.weights.embed, rows.embed);
  const lmHead = m.weights.lmHead && rows.head ? swap(m.weights.lmHead, rows.head) : undefined;
  return {
    model: { ...m, weights: { ...m.weights, embed, lmHead: lmHead ?? m.weights.lmHead } },
    dispose: () => {
      embed.dispose();
      lmHead?.dispose();
    },
  };
}
