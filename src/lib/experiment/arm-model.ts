/**
 * The model an arm trains: the experiment's model as it is, or, for an arm with `vocab`, that model
 * extended with `add` tokens learned from the bundled Korean corpus and initialised with the arm's
 * init (the Vocabulary view's and `lab vocab`'s extendModel, same seed), so three arms that differ
 * only in `init` learn the same tokens. `withRows` gives the model with a trainer's rows swapped in,
 * for the evaluation suite and the export.
 */
import type * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../model/model';
import { decodeDataBytes, type DataSource } from '../eval/data';
import { corpusTexts, DEFAULT_CORPUS_FILES } from '../vocab/corpus';
import { disposeExtension, extendModel } from '../vocab/extend-model';
import type { Arm } from './recipe';

export interface ArmModel {
  model: LoadedModel;
  /** first new token id (the rows the arm trains), or null for an arm without vocab */
  trainRowsFrom: number | null;
  dispose(): void;
}

/** The corpus files as the data root names them (DEFAULT_CORPUS_FILES are relative to public/). */
export async function bundledCorpus(source: DataSource): Promise<string[]> {
  const parts = await Promise.all(
    DEFAULT_CORPUS_FILES.map(async (f) => {
      const rel = f.replace(/^data\//, '');
      return corpusTexts(decodeDataBytes(await source.read(rel)), rel);
    }),
  );
  return parts.flat();
}

export async function armModel(
  base: LoadedModel,
  arm: Arm,
  seed: number,
  corpus: () => Promise<string[]>,
  onProgress?: (stage: string, done: number, total: number) => void,
): Promise<ArmModel> {
  if (!arm.vocab) return { model: base, trainRowsFrom: null, dispose: () => {} };
  const ext = await extendModel(base, await corpus(), {
    add: arm.vocab.add,
    init: arm.vocab.init,
    seed,
    donor: null,
    source: 'bundled Korean corpus',
    onProgress,
  });
  return { model: ext.model, trainRowsFrom: ext.oldVocab, dispose: () => disposeExtension(ext, base) };
}

/** `model` with the trained rows in place of its embedding (and untied head); dispose the result's new tensors. */
export function withRows(model: LoadedModel, rows: { embed: tf.Tensor2D; lmHead?: tf.Tensor2D }): LoadedModel {
  return {
    ...model,
    weights: { ...model.weights, embed: rows.embed, lmHead: rows.lmHead ?? model.weights.lmHead },
  };
}
