import * as tf from '@tensorflow/tfjs';
import { defaultConfig, type ModelConfig } from '../model/config';
import type { LayerWeights, ModelWeights } from '../model/weights';
import type { LoadedModel } from '../model/model';
import { Tok512Tokenizer } from '../tokenizer/tok512';

const HEADER_BYTES = 28;

export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  shared: boolean;
}

export function readLlama2cHeader(bytes: Uint8Array, fileName = 'model.bin'): Llama2cHeader {
  if (bytes.byteLength < HEADER_BYTES)
    throw new Error(`${fileName}: truncated: ${bytes.byteLength} bytes, a llama2.c header needs ${HEADER_BYTES}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const v = Array.from({ length: 7 }, (_, i) => dv.getInt32(i * 4, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = v;
  const bad = (what: string) => new Error(`${fileName}: invalid llama2.c header (${what}): [${v.join(', ')}]`);
  if (dim <= 0 || hiddenDim <= 0 || nLayers <= 0 || nHeads <= 0 || nKvHeads <= 0 || seqLen <= 0 || vocab === 0)
    throw bad('non-positive size');
  if (dim % nHeads !== 0) throw bad(`dim ${dim} not divisible by n_heads ${nHeads}`);
  if (nHeads % nKvHeads !== 0) throw bad(`n_heads ${nHeads} not divisible by n_kv_heads ${nKvHeads}`);
  if (dim > 1 << 16 || hiddenDim > 1 << 18 || nLayers > 1024 || Math.abs(vocab) > 1 << 22 || seqLen > 1 << 20)
    throw bad('implausible size');
  return { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize: Math.abs(vocab), seqLen, shared: vocab > 0 };
}

/** Bytes a legacy (version 0) llama2.c checkpoint with this header must have. */
export function expectedLlama2cBytes(h: Llama2cHeader): number {
  const headSize = h.dim / h.nHeads;
  const kvDim = h.nKvHeads * headSize;
  const L = h.nLayers;
  const floats =
    h.vocabSize * h.dim +
    L * h.dim +
    L * h.dim * h.dim +
    2 * L * h.dim * kvDim +
    L * h.dim * h.dim +
    L * h.dim +
    3 * L * h.dim * h.hiddenDim +
    h.dim +
    h.seqLen * headSize + // freq_cis_real + freq_cis_imag, (seqLen * headSize/2) each
    (h.shared ? 0 : h.vocabSize * h.dim);
  return HEADER_BYTES + floats * 4;
}

/** Parse a llama2.c legacy checkpoint; the header is validated against the file size. */
export function parseLlama2c(
  bytes: Uint8Array,
  fileName = 'model.bin',
): { config: ModelConfig; weights: ModelWeights } {
  const h = readLlama2cHeader(bytes, fileName);
  const expected = expectedLlama2cBytes(h);
  if (bytes.byteLength !== expected)
    throw new Error(
      `${fileName}: header (dim ${h.dim}, hidden ${h.hiddenDim}, layers ${h.nLayers}, heads ${h.nHeads}/${h.nKvHeads}, vocab ${h.vocabSize}, seq ${h.seqLen}) implies ${expected} bytes but the file has ${bytes.byteLength}` +
        (bytes.byteLength < expected ? ' (truncated?)' : ''),
    );
  const headDim = h.dim / h.nHeads;
  const kvDim = h.nKvHeads * headDim;
  const config = defaultConfig({
    arch: 'llama2c',
    dim: h.dim,
    hiddenDim: h.hiddenDim,
    nLayers: h.nLayers,
    nHeads: h.nHeads,
    nKvHeads: h.nKvHeads,
    headDim,
    vocabSize: h.vocabSize,
    maxSeqLen: h.seqLen,
    ropeStyle: 'interleaved',
    tiedEmbeddings: h.shared,
  });
  // Copy into an aligned Float32Array (the source may be unaligned).
  const floats = new Float32Array((bytes.byteLength - HEADER_BYTES) / 4);
  new Uint8Array(floats.buffer).set(bytes.subarray(HEADER_BYTES));
  let off = 0;
  const names = [
    'token_embedding',
    'rms_att',
    'wq',
    'wk',
    'wv',
    'wo',
    'rms_ffn',
    'w1',
    'w2',
    'w3',
    'rms_final',
    'freq_cis',
    'wcls',
  ];
  let part = 0;
  const take = (n: number) => {
    const a = floats.subarray(off, off + n);
    const name = names[part++] ?? 'weights';
    // NaN/Inf weights are refused here rather than turning every logit into NaN later (freq_cis is unused)
    if (name !== 'freq_cis')
      for (let i = 0; i < a.length; i++)
        if (!Number.isFinite(a[i]))
          throw new Error(`${fileName}: ${name} has ${a[i]} at index ${i} (a corrupt or diverged checkpoint)`);
    off += n;
    return a;
  };
  const L = h.nLayers;
  const D = h.dim;
  const F = h.hiddenDim;
  const embed = take(h.vocabSize * D);
  const rmsAtt = take(L * D);
  const wq = take(L * D * D);
  const wk = take(L * kvDim * D);
  const wv = take(L * kvDim * D);
  const wo = take(L * D * D);
  const rmsFfn = take(L * D);
  const w1 = take(L * F * D);
  const w2 = take(L * D * F);
  const w3 = take(L * F * D);
  const rmsFinal = take(D);
  take(h.seqLen * headDim); // legacy freq_cis tables, recomputed by the model
  const cls = h.shared ? null : take(h.vocabSize * D);

  const layers: LayerWeights[] = [];
  for (let l = 0; l < L; l++) {
    const sl = (a: Float32Array, n: number) => a.slice(l * n, (l + 1) * n);
    layers.push({
      attnNorm: { w: tf.tensor1d(sl(rmsAtt, D)) },
      mlpNorm: { w: tf.tensor1d(sl(rmsFfn, D)) },
      linears: {
        q_proj: { w: tf.tensor2d(sl(wq, D * D), [D, D]) },
        k_proj: { w: tf.tensor2d(sl(wk, kvDim * D), [kvDim, D]) },
        v_proj: { w: tf.tensor2d(sl(wv, kvDim * D), [kvDim, D]) },
        o_proj: { w: tf.tensor2d(sl(wo, D * D), [D, D]) },
        gate_proj: { w: tf.tensor2d(sl(w1, F * D), [F, D]) },
        down_proj: { w: tf.tensor2d(sl(w2, D * F), [D, F]) },
        up_proj: { w: tf.tensor2d(sl(w3, F * D), [F, D]) },
      },
    });
  }
  const weights: ModelWeights = {
    embed: tf.tensor2d(embed.slice(), [h.vocabSize, D]),
    layers,
    finalNorm: { w: tf.tensor1d(rmsFinal.slice()) },
    lmHead: cls ? tf.tensor2d(cls.slice(), [h.vocabSize, D]) : undefined,
  };
  return { config, weights };
}

export function loadLlama2c(
  binBytes: Uint8Array,
  tokBytes: Uint8Array,
  name: string,
  source: string,
  binName = 'model.bin',
  tokName = 'tokenizer.bin',
): LoadedModel {
  const { config, weights } = parseLlama2c(binBytes, binName);
  const tokenizer = Tok512Tokenizer.fromBytes(tokBytes, config.vocabSize, tokName);
  return { name, config, weights, tokenizer, source };
}
