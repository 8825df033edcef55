import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config';
import type { LinearName, ModelWeights } from './weights';
import type { LoraState } from '../lora/types';
import { applyRope, ropeTables } from './rope';
import { geluTanh, linear, norm, type LoraApply } from './layers';
import { matMulFrozenT, matMulT } from './matmul';

export interface ForwardOptions {
  lora?: LoraState | null;
  /** [B, S] 1 = real token, 0 = padding (S = past + T); only needed for left padding */
  attnMask?: tf.Tensor2D;
  training?: boolean;
  dropoutSeed?: number;
  /** KV cache for incremental decoding: one {k, v} [B, Hkv, P, hd] per layer; replaced in place */
  cache?: KvCache;
}

export interface KvCache {
  length: number;
  layers: { k: tf.Tensor4D; v: tf.Tensor4D }[];
}

export interface ModelLike {
  config: ModelConfig;
  weights: ModelWeights;
}

const NEG = -1e9;

/** Additive causal bias [G*T, S]: query t (absolute P + t) sees keys s <= P + t. */
function causalBias(T: number, S: number, P: number, G: number): tf.Tensor2D {
  const m = new Float32Array(G * T * S);
  for (let g = 0; g < G; g++)
    for (let t = 0; t < T; t++) {
      const row = (g * T + t) * S;
      for (let s = P + t + 1; s < S; s++) m[row + s] = NEG;
    }
  return tf.tensor2d(m, [G * T, S]);
}

function loraFor(lora: LoraState | null | undefined, layer: number, name: LinearName, training: boolean, seed: number | undefined): LoraApply | null {
  if (!lora || !lora.enabled) return null;
  const pair = lora.adapters.get(`${layer}.${name}`);
  if (!pair) return null;
  return {
    pair,
    scale: lora.config.alpha / lora.config.r,
    dropout: training ? lora.config.dropout : 0,
    seed: seed === undefined ? undefined : seed * 1000 + layer * 8 + name.length,
  };
}

/**
 * Decoder forward: ids [B, T] (int32) → logits [B, T, V].
 * Not wrapped in tidy: call inside tf.tidy / tf.variableGrads. With opts.cache, appends this
 * call's keys/values to the cache (caller owns and disposes the cache tensors).
 */
export function forward(model: ModelLike, ids: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
  const cfg = model.config;
  const W = model.weights;
  const [B, T] = ids.shape;
  const P = opts.cache ? opts.cache.length : 0;
  const S = P + T;
  const H = cfg.nHeads;
  const Hkv = cfg.nKvHeads;
  const G = H / Hkv;
  const hd = cfg.headDim;
  const training = opts.training ?? false;

  let x = tf.gather(W.embed, ids.reshape([B * T])) as tf.Tensor2D; // [N, D]
  if (cfg.position === 'learned') {
    if (!W.posEmbed) throw new Error('model has learned positions but no position embedding');
    const pos = tf.range(P, P + T, 1, 'int32');
    const pe = tf.gather(W.posEmbed, pos); // [T, D]
    x = tf.add(x.reshape([B, T, cfg.dim]), pe).reshape([B * T, cfg.dim]);
  }
  const rope = cfg.position === 'rope' ? ropeTables(cfg, T, P) : null;
  let bias: tf.Tensor = causalBias(T, S, P, G).reshape([1, G * T, S]);
  if (opts.attnMask) {
    const pad = tf.mul(tf.sub(1, tf.cast(opts.attnMask, 'float32')), NEG); // [B, S]
    const padB = tf.tile(pad.reshape([B, 1, 1, S]), [1, Hkv, 1, 1]).reshape([B * Hkv, 1, S]);
    bias = tf.add(bias, padB);
  }
  const scale = 1 / Math.sqrt(hd);

  for (let l = 0; l < cfg.nLayers; l++) {
    const lw = W.layers[l];
    const lin = (name: LinearName, inp: tf.Tensor2D) => {
      const w = lw.linears[name];
      if (!w) throw new Error(`layer ${l} has no ${name}`);
      return linear(inp, w, loraFor(opts.lora, l, name, training, opts.dropoutSeed));
    };
    const h = norm(x, lw.attnNorm, cfg);
    let q = lin('q_proj', h).reshape([B, T, H, hd]) as tf.Tensor4D;
    let k = lin('k_proj', h).reshape([B, T, Hkv, hd]) as tf.Tensor4D;
    const v = lin('v_proj', h).reshape([B, T, Hkv, hd]) as tf.Tensor4D;
    if (rope) {
      q = applyRope(q, rope);
      k = applyRope(k, rope);
    }
    let kT = tf.transpose(k, [0, 2, 1, 3]) as tf.Tensor4D; // [B, Hkv, T, hd]
    let vT = tf.transpose(v, [0, 2, 1, 3]) as tf.Tensor4D;
    if (opts.cache) {
      const past = opts.cache.layers[l];
      if (past) {
        kT = tf.concat([past.k, kT], 2);
        vT = tf.concat([past.v, vT], 2);
      }
      opts.cache.layers[l] = { k: tf.keep(kT), v: tf.keep(vT) };
      if (past) {
        past.k.dispose();
        past.v.dispose();
      }
    }
    // Grouped-query attention without repeating K/V: fold the G query heads of each KV head into the time axis.
    const qg = tf.transpose(q, [0, 2, 1, 3]).reshape([B * Hkv, G * T, hd]);
    const kg = kT.reshape([B * Hkv, S, hd]);
    const vg = vT.reshape([B * Hkv, S, hd]);
    const scores = tf.add(tf.mul(tf.matMul(qg, kg, false, true), scale), bias);
    const probs = tf.softmax(scores, -1);
    const att = tf.matMul(probs, vg) // [B*Hkv, G*T, hd]
      .reshape([B, H, T, hd])
      .transpose([0, 2, 1, 3])
      .reshape([B * T, H * hd]) as tf.Tensor2D;
    x = tf.add(x, lin('o_proj', att));

    const h2 = norm(x, lw.mlpNorm, cfg);
    let m: tf.Tensor2D;
    if (cfg.mlp === 'swiglu') {
      const g = lin('gate_proj', h2);
      m = tf.mul(tf.mul(g, tf.sigmoid(g)), lin('up_proj', h2));
    } else {
      m = geluTanh(lin('up_proj', h2));
    }
    x = tf.add(x, lin('down_proj', m));
  }
  if (opts.cache) opts.cache.length = S;
  const hf = norm(x, W.finalNorm, cfg);
  const head = W.lmHead ?? W.embed;
  return (W.trainableHead ? matMulT(hf, head) : matMulFrozenT(hf, head)).reshape([B, T, cfg.vocabSize]) as tf.Tensor3D;
}
