/**
 * Vocabulary extension of a loaded model (docs/methods.md §8): learn target-language tokens,
 * extend the tokenizer (llama2.c tok512 or Hugging Face tokenizer.json), grow the embedding (and an
 * untied output head) by the new rows, initialise them with `salt`, `mean` or `random`.
 * Old rows are copied unchanged, so text without new tokens scores exactly as before.
 */
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../model/model';
import type { Tokenizer } from '../tokenizer/types';
import { Tok512Tokenizer } from '../tokenizer/tok512';
import { HfTokenizer } from '../tokenizer/hf';
import { learnTokens, type LearnedPiece } from './learn';
import { extendTok512 } from './extend-tok512';
import { extendHfTokenizerJson } from './extend-hf';
import { initRows, type AuxSpace, type InitMethod, type InitStats } from './init';
import { trainSkipGram, type SkipGramOptions } from './skipgram';
import { donorVector, type Donor } from './donor';

export interface ExtendOptions {
  add: number;
  init: InitMethod;
  seed?: number;
  /** SALT's auxiliary space from a donor; without one SALT learns a skip-gram on the corpus */
  donor?: Donor | null;
  /** corpus name for error messages */
  source?: string;
  skipGram?: SkipGramOptions;
  /** SALT pseudo-inverse cutoff (default SALT_RCOND; 0 = exact pinv) */
  saltRcond?: number;
  /** stage: 'learn' | 'aux' | 'init'; lets a page show progress */
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface ExtendResult {
  model: LoadedModel;
  learned: LearnedPiece[];
  /** ids of the new tokens (contiguous, from the old vocab size) */
  newIds: number[];
  oldVocab: number;
  init: InitMethod;
  embedStats: InitStats;
  headStats: InitStats | null;
  /** where SALT's auxiliary vectors came from */
  auxSource: string | null;
  /** llama2.c tokenizer.bin bytes of the extended tokenizer (tok512 models) */
  tok512Bytes: Uint8Array | null;
  timings: { learnMs: number; auxMs: number; initMs: number };
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** The text of every old id (spaces as ' '), for donor matching; '' for ids with no text. */
export function idStrings(tok: Tokenizer): string[] {
  if (tok instanceof Tok512Tokenizer) return tok.pieces.slice();
  if (tok instanceof HfTokenizer) {
    const out: string[] = new Array(tok.vocabSize).fill('');
    const v = (tok.tokenizerJson.model as { vocab?: Record<string, number> | [string, number][] })?.vocab;
    if (Array.isArray(v)) v.forEach(([p], i) => (out[i] = p.replaceAll('\u2581', ' ')));
    else if (v) for (const [p, id] of Object.entries(v)) out[id] = p.replaceAll('\u2581', ' ');
    return out;
  }
  return [];
}

function pieceChecker(tok: Tokenizer): (p: string) => boolean {
  if (tok instanceof Tok512Tokenizer) {
    const s = new Set(tok.pieces);
    return (p) => s.has(p);
  }
  if (tok instanceof HfTokenizer)
    return (p) => tok.tokenToId(p.replaceAll(' ', '\u2581')) !== undefined || tok.tokenToId(p) !== undefined;
  throw new Error('vocabulary extension supports llama2.c (tok512) and Hugging Face tokenizer.json tokenizers');
}

/** Old ids the old tokenizer splits a new piece into (FVT's pieces), leading space handled as a word start. */
export function oldSplit(tok: Tokenizer, piece: string): number[] {
  const wordStart = piece.startsWith(' ');
  const ids = tok.encode(wordStart ? piece.slice(1) : piece, { bos: false });
  if (!wordStart && ids.length > 1) {
    const first =
      tok instanceof Tok512Tokenizer ? tok.pieces[ids[0]] : tok instanceof HfTokenizer ? idStrings(tok)[ids[0]] : '';
    if (first === ' ') return ids.slice(1);
  }
  return ids;
}

async function readMatrix(t: tf.Tensor2D): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

export async function extendModel(model: LoadedModel, texts: string[], opts: ExtendOptions): Promise<ExtendResult> {
  const src = opts.source ?? 'corpus';
  const seed = opts.seed ?? 0;
  const oldTok = model.tokenizer;
  const oldVocab = model.config.vocabSize;
  const dim = model.config.dim;
  const nonEmpty = texts.filter((t) => t.trim().length > 0);
  if (nonEmpty.length === 0) throw new Error(`${src}: empty corpus (no text to learn tokens from)`);

  let t0 = now();
  const learned = learnTokens(nonEmpty, {
    add: opts.add,
    has: pieceChecker(oldTok),
    source: src,
    onProgress: (d, n) => opts.onProgress?.('learn', d, n),
  }).pieces.slice(0, opts.add);
  let tokenizer: Tokenizer;
  let newIds: number[];
  let tok512Bytes: Uint8Array | null = null;
  if (oldTok instanceof Tok512Tokenizer) {
    if (oldTok.vocabSize !== oldVocab)
      throw new Error(`${model.name}: tokenizer has ${oldTok.vocabSize} tokens but the model ${oldVocab} rows`);
    const ext = extendTok512(oldTok, learned);
    tokenizer = ext.tokenizer;
    newIds = ext.newIds;
    tok512Bytes = ext.bytes;
  } else if (oldTok instanceof HfTokenizer) {
    const ext = extendHfTokenizerJson(oldTok.tokenizerJson, learned, oldVocab, `${model.name}/tokenizer.json`);
    tokenizer = new HfTokenizer(ext.tokenizerJson, oldTok.tokenizerConfig, {
      bosTokenId: oldTok.bosTokenId,
      eosTokenId: oldTok.eosId,
      fileName: `${model.name}/tokenizer.json (extended)`,
    });
    newIds = ext.newIds;
  } else throw new Error('vocabulary extension supports llama2.c (tok512) and Hugging Face tokenizer.json tokenizers');
  newIds.forEach((id, i) => {
    if (id !== oldVocab + i)
      throw new Error(`internal: new ids are not contiguous from ${oldVocab} (got ${id} at ${i})`);
  });
  const learnMs = now() - t0;

  // Auxiliary space (SALT only)
  t0 = now();
  let aux: AuxSpace | null = null;
  if (opts.init === 'salt') {
    if (opts.donor) {
      const d = opts.donor;
      const names = idStrings(oldTok);
      const old = names.map((s, id) =>
        s && id !== oldTok.bosId && id !== oldTok.eosId && !/^<0x[0-9A-Fa-f]{2}>$/.test(s) ? donorVector(d, s) : null,
      );
      const added = learned.map((p) => donorVector(d, p.piece));
      if (old.every((v) => !v))
        throw new Error(`${d.source}: no donor token matches any token of ${model.name} (wrong vocabulary file?)`);
      if (added.every((v) => !v))
        throw new Error(
          `${d.source}: no donor token matches any of the ${learned.length} new tokens (wrong vocabulary file?)`,
        );
      aux = { dim: d.dim, old, added, source: d.source };
    } else {
      const seqs = nonEmpty.map((t) => tokenizer.encode(t, { bos: false }));
      const sg = trainSkipGram(seqs, oldVocab + newIds.length, {
        seed,
        ...opts.skipGram,
        onProgress: (d, n) => opts.onProgress?.('aux', d, n),
      });
      const vec = (id: number) => sg.vectors.subarray(id * sg.dim, (id + 1) * sg.dim);
      const old = Array.from({ length: oldVocab }, (_, id) =>
        sg.counts[id] >= 3 && id !== oldTok.bosId && id !== oldTok.eosId ? vec(id) : null,
      );
      const added = newIds.map((id) => (sg.counts[id] >= 1 ? vec(id) : null));
      aux = { dim: sg.dim, old, added, source: `skip-gram on ${src}` };
    }
  }
  const auxMs = now() - t0;

  t0 = now();
  opts.onProgress?.('init', 0, 1);
  const oldPieces = learned.map((p) => oldSplit(oldTok, p.piece));
  const embedOld = await readMatrix(model.weights.embed);
  const base = { oldVocab, dim, oldPieces, seed, aux, rcond: opts.saltRcond };
  const emb = initRows(opts.init, { ...base, matrix: embedOld });
  let head: ReturnType<typeof initRows> | null = null;
  if (model.weights.lmHead)
    head = initRows(opts.init, { ...base, matrix: await readMatrix(model.weights.lmHead), seed: seed + 1 });
  const n = newIds.length;
  const grow = (old: tf.Tensor2D, rows: Float32Array) =>
    tf.tidy(() => tf.concat([old, tf.tensor2d(rows, [n, dim])], 0) as tf.Tensor2D);
  const weights = {
    ...model.weights,
    embed: grow(model.weights.embed, emb.rows),
    lmHead: head ? grow(model.weights.lmHead!, head.rows) : undefined,
  };
  opts.onProgress?.('init', 1, 1);
  const initMs = now() - t0;
  const extended: LoadedModel = {
    name: `${model.name}+vocab${n}-${opts.init}`,
    config: { ...model.config, vocabSize: oldVocab + n },
    weights,
    tokenizer,
    source: model.source,
  };
  return {
    model: extended,
    learned,
    newIds,
    oldVocab,
    init: opts.init,
    embedStats: emb.stats,
    headStats: head?.stats ?? null,
    auxSource: aux?.source ?? null,
    tok512Bytes,
    timings: { learnMs, auxMs, initMs },
  };
}

/** Disposes only the tensors the extension created (the grown matrices); the rest belong to the base model. */
export function disposeExtension(ext: ExtendResult, base: LoadedModel): void {
  if (ext.model.weights.embed !== base.weights.embed) ext.model.weights.embed.dispose();
  if (ext.model.weights.lmHead && ext.model.weights.lmHead !== base.weights.lmHead) ext.model.weights.lmHead.dispose();
}
