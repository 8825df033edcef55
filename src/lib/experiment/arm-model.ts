/**
 * The model an arm trains. An arm without `vocab` or `from` trains the experiment's model as it
 * is. An arm with `vocab` first extends that model with `add` tokens learned from the bundled
 * Korean corpus, initialised with the arm's init (the Vocabulary view's and `lab vocab`'s
 * extendModel, same seed), so arms that differ only in `init` learn the same tokens. An arm with
 * `from` starts where an earlier arm ended: that arm's model (extended again, deterministically)
 * with its trained rows in place and its LoRA merged into the weights, so stages chain
 * (extend → pt → CLO). `withRows` gives a model with a trainer's rows swapped in, for the
 * evaluation suite and the export.
 */
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../model/model';
import type { ModelWeights } from '../model/weights';
import { decodeDataBytes, type DataSource } from '../eval/data';
import { corpusTexts, DEFAULT_CORPUS_FILES } from '../vocab/corpus';
import { disposeExtension, extendModel } from '../vocab/extend-model';
import type { LoraSnapshot } from '../lora/types';
import { disposeLora, loraFromSnapshot, mergeLora } from '../lora/lora';
import type { RowsSnapshot } from '../train/trainable-rows';
import type { Arm } from './recipe';

export interface ArmModel {
  model: LoadedModel;
  /** first new token id (the rows the arm trains), or null for a model without added tokens */
  trainRowsFrom: number | null;
  dispose(): void;
}

/** What an arm leaves for the arms that start `from` it: its adapter and trained rows. */
export interface ArmCarry {
  lora: LoraSnapshot;
  rows: RowsSnapshot | null;
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

/** The earlier arms `arm` builds on, first one first (the arm itself last). */
export function armChain(arms: Arm[], arm: Arm): Arm[] {
  const chain = [arm];
  for (let a = arm; a.from;) {
    const prev = arms.find((x) => x.id === a.from);
    if (!prev || chain.includes(prev)) throw new Error(`arm ${a.id}: "from" names no earlier arm (${a.from})`);
    chain.unshift(prev);
    a = prev;
  }
  return chain;
}

/** `weights` with rows [start, vocab) of the embedding (and untied head) taken from `rows`; new tensors. */
function putRows(weights: ModelWeights, rows: RowsSnapshot): ModelWeights {
  const n = rows.embed.length / rows.dim;
  const put = (t: tf.Tensor2D, data: Float32Array) =>
    tf.tidy(
      () =>
        tf.concat([tf.slice(t, [0, 0], [rows.start, rows.dim]), tf.tensor2d(data, [n, rows.dim])], 0) as tf.Tensor2D,
    );
  const lmHead = weights.lmHead && rows.head ? put(weights.lmHead, rows.head) : weights.lmHead;
  return { ...weights, embed: put(weights.embed, rows.embed), lmHead };
}

export async function armModel(
  base: LoadedModel,
  arms: Arm[],
  arm: Arm,
  seed: number,
  corpus: () => Promise<string[]>,
  carry: (armId: string) => Promise<ArmCarry | undefined>,
): Promise<ArmModel> {
  const chain = armChain(arms, arm);
  const first = chain[0];
  const owned: tf.Tensor[] = [];
  let model = base;
  let trainRowsFrom: number | null = null;
  let disposeExt = () => {};
  if (first.vocab) {
    const ext = await extendModel(base, await corpus(), {
      add: first.vocab.add,
      init: first.vocab.init,
      seed,
      donor: null,
      source: 'bundled Korean corpus',
    });
    model = ext.model;
    trainRowsFrom = ext.oldVocab;
    disposeExt = () => disposeExtension(ext, base);
  }
  for (const prev of chain.slice(0, -1)) {
    const c = await carry(prev.id);
    if (!c) throw new Error(`arm ${arm.id} starts from arm ${prev.id}, whose trained state is missing`);
    let w = model.weights;
    if (c.rows) {
      w = putRows(w, c.rows);
      owned.push(w.embed);
      if (w.lmHead && w.lmHead !== model.weights.lmHead) owned.push(w.lmHead);
    }
    if (Object.keys(c.lora.tensors).length) {
      const lora = loraFromSnapshot(c.lora);
      try {
        const merged = mergeLora(w, lora);
        merged.layers.forEach((l, i) =>
          Object.entries(l.linears).forEach(([k, lin]) => {
            if (lin && lin.w !== w.layers[i].linears[k as keyof typeof l.linears]?.w) owned.push(lin.w as tf.Tensor);
          }),
        );
        w = merged;
      } finally {
        disposeLora(lora);
      }
    }
    model = { ...model, weights: w };
  }
  return {
    model,
    trainRowsFrom,
    dispose: () => {
      for (const t of owned) t.dispose();
      disposeExt();
    },
  };
}

/** `model` with the trained rows in place of its embedding (and untied head); dispose the result's new tensors. */
export function withRows(model: LoadedModel, rows: { embed: tf.Tensor2D; lmHead?: tf.Tensor2D }): LoadedModel {
  return {
    ...model,
    weights: { ...model.weights, embed: rows.embed, lmHead: rows.lmHead ?? model.weights.lmHead },
  };
}
