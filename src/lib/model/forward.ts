import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config';
import { LINEAR_NAMES, type Linear, type LinearName, type ModelWeights, type Norm } from './weights';
import type { LoraState } from './adapter';
import { ropeTables, type RopeTables } from './rope';
import { applyRope } from './kernels/rope/rope';
import { addNorm, addSame, addThenNorm, geluTanh, linear, linears, norm, type LoraApply } from './layers';
import { swiglu } from './kernels/swiglu/swiglu';
import { matMulFrozenT, matMulT } from './matmul';
import { attention, attentionHeads } from './kernels/attention/attention';
import { gatherRows, rowBlocks } from './row-blocks';

export interface ForwardOptions {
  lora?: LoraState | null;
  /** [B, S] 1 = real token, 0 = padding (S = past + T); only needed for left padding */
  attnMask?: tf.Tensor2D;
  training?: boolean;
  dropoutSeed?: number;
  /** KV cache for incremental decoding: one {k, v} [B, Hkv, P, hd] per layer; replaced in place */
  cache?: KvCache;
  /** under a gradient tape, recompute each block in the backward pass instead of keeping its activations */
  checkpointing?: boolean;
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

function loraFor(
  lora: LoraState | null | undefined,
  layer: number,
  name: LinearName,
  training: boolean,
  seed: number | undefined,
): LoraApply | null {
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

/** The output projection [V, D]: lm_head, or the embedding when tied. */
export function lmHead(model: ModelLike): tf.Tensor2D {
  return model.weights.lmHead ?? model.weights.embed;
}

/** True while a gradient tape records (inside tf.grads / tf.variableGrads, outside kernels). */
function tapeOn(): boolean {
  return (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
}

/** Tensors shared by every block of one forward call. */
interface BlockConsts {
  rope: RopeTables | null;
  bias: tf.Tensor;
}

/** The LoRA adapters a block applies, fixed at forward time (so a recomputation uses the same ones). */
type BlockLora = Partial<Record<LinearName, LoraApply>>;

function blockLora(
  lora: LoraState | null | undefined,
  l: number,
  training: boolean,
  seed: number | undefined,
): BlockLora {
  const out: BlockLora = {};
  for (const name of LINEAR_NAMES) {
    const a = loraFor(lora, l, name, training, seed);
    if (a) out[name] = a;
  }
  return out;
}

/**
 * The norm after a block, fused with the block's last residual add (addNorm): the next layer's attention
 * norm, or (`last`) the final norm, whose input is not needed further.
 */
interface NextNorm {
  n: Norm;
  last: boolean;
}

/**
 * The output of a block: x [B·T, D] (absent after the last block when it computes the final norm) and,
 * with a NextNorm, that norm of x.
 */
type BlockOut = {
  x?: tf.Tensor2D;
  h?: tf.Tensor2D;
};

/**
 * One decoder block: x [B·T, D] → x [B·T, D]. `h0`: the block's attention norm of x where the block
 * before computed it (fused with its residual add), else undefined. Each residual add is fused with the norm
 * that reads it: the MLP norm's, and with `next` the one after the block.
 */
function block(
  model: ModelLike,
  l: number,
  x: tf.Tensor2D,
  h0: tf.Tensor2D | undefined,
  next: NextNorm | null,
  B: number,
  T: number,
  k: BlockConsts,
  adapters: BlockLora,
  cache: KvCache | undefined,
): BlockOut {
  const cfg = model.config;
  const lw = model.weights.layers[l];
  const H = cfg.nHeads;
  const Hkv = cfg.nKvHeads;
  const G = H / Hkv;
  const hd = cfg.headDim;
  const S = (cache ? cache.length : 0) + T;
  const scale = 1 / Math.sqrt(hd);
  const lin = (name: LinearName, inp: tf.Tensor2D) => {
    const w = lw.linears[name];
    if (!w) throw new Error(`layer ${l} has no ${name}`);
    return linear(inp, w, adapters[name] ?? null);
  };
  const h = h0 ?? norm(x, lw.attnNorm, cfg);
  const qkv = (['q_proj', 'k_proj', 'v_proj'] as const).map((name): [Linear, LoraApply | null] => {
    const w = lw.linears[name];
    if (!w) throw new Error(`layer ${l} has no ${name}`);
    return [w, adapters[name] ?? null];
  });
  const [qy, ky, vy] = linears(h, qkv);
  let q = qy.reshape([B, T, H, hd]) as tf.Tensor4D;
  let kk = ky.reshape([B, T, Hkv, hd]) as tf.Tensor4D;
  const v = vy.reshape([B, T, Hkv, hd]) as tf.Tensor4D;
  // Without a cache, where the attention kernel runs: it reads the projections' layouts and writes
  // [B·T, H·hd] itself (no transposes), and applies RoPE (folded into its loads on webgpu); otherwise
  // RoPE here, then transpose to [B, H, T, hd] for the cache and for attention().
  let att = cache ? null : attentionHeads(q, kk, v, k.bias as tf.Tensor3D, scale, k.rope);
  if (!att) {
    if (k.rope) {
      q = applyRope(q, k.rope);
      kk = applyRope(kk, k.rope);
    }
    let kT = tf.transpose(kk, [0, 2, 1, 3]) as tf.Tensor4D; // [B, Hkv, T, hd]
    let vT = tf.transpose(v, [0, 2, 1, 3]) as tf.Tensor4D;
    if (cache) {
      const past = cache.layers[l];
      if (past) {
        kT = tf.concat([past.k, kT], 2);
        vT = tf.concat([past.v, vT], 2);
      }
      cache.layers[l] = { k: tf.keep(kT), v: tf.keep(vT) };
      if (past) {
        past.k.dispose();
        past.v.dispose();
      }
    }
    // Grouped-query attention without repeating K/V: fold the G query heads of each KV head into the time axis.
    const qg = tf.transpose(q, [0, 2, 1, 3]).reshape([B * Hkv, G * T, hd]);
    const kg = kT.reshape([B * Hkv, S, hd]);
    const vg = vT.reshape([B * Hkv, S, hd]);
    att = attention(qg as tf.Tensor3D, kg as tf.Tensor3D, vg as tf.Tensor3D, k.bias as tf.Tensor3D, scale) // [B*Hkv, G*T, hd]
      .reshape([B, H, T, hd])
      .transpose([0, 2, 1, 3])
      .reshape([B * T, H * hd]) as tf.Tensor2D;
  }
  const mid = addNorm(x, lin('o_proj', att), lw.mlpNorm, cfg);
  x = mid.sum;
  const h2 = mid.normed;
  let m: tf.Tensor2D;
  if (cfg.mlp === 'swiglu') {
    m = swiglu(lin('gate_proj', h2), lin('up_proj', h2));
  } else {
    m = geluTanh(lin('up_proj', h2));
  }
  const out = lin('down_proj', m);
  if (!next) return { x: addSame(x, out) };
  if (next.last) return { h: addThenNorm(x, out, next.n, cfg) };
  const o = addNorm(x, out, next.n, cfg);
  return { x: o.sum, h: o.normed };
}

/**
 * A block under gradient checkpointing: the forward keeps only its input (and the small shared
 * tables); the backward runs the block again under its own tape and back-propagates through that.
 * Inputs of the custom gradient are x and the block's LoRA variables, so tf.variableGrads sees them.
 */
function checkpointedBlock(
  model: ModelLike,
  l: number,
  x: tf.Tensor2D,
  B: number,
  T: number,
  k: BlockConsts,
  adapters: BlockLora,
): tf.Tensor2D {
  const vars: tf.Variable[] = [];
  for (const a of Object.values(adapters)) if (a) vars.push(a.pair.A, a.pair.B);
  const r = k.rope;
  const consts: tf.Tensor[] = r ? [r.cos, r.sin, r.rot, r.cs, k.bias] : [k.bias];
  const unpack = (c: tf.Tensor[]): BlockConsts =>
    r
      ? {
          rope: {
            ...r,
            cos: c[0] as tf.Tensor2D,
            sin: c[1] as tf.Tensor2D,
            rot: c[2] as tf.Tensor2D,
            cs: c[3] as tf.Tensor2D,
          },
          bias: c[4],
        }
      : { rope: null, bias: c[0] };
  const f = tf.customGrad(((...args: unknown[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const xi = args[0] as tf.Tensor2D;
    save([xi, ...consts]);
    return {
      value: block(model, l, xi, undefined, null, B, T, k, adapters, undefined).x!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ...cs] = saved;
        const kc = unpack(cs);
        // A nested tape inside a backward pass: tfjs' engine replaces (then nulls) its active tape when
        // the inner gradient starts and ends; the outer pass still needs it to free its saved tensors.
        const engine = tf.engine() as unknown as { state: { activeTape: unknown } };
        const outer = engine.state.activeTape;
        try {
          return tf.grads(
            (xx: tf.Tensor) => block(model, l, xx as tf.Tensor2D, undefined, null, B, T, kc, adapters, undefined).x!,
          )([xs, ...vars], dy);
        } finally {
          engine.state.activeTape = outer;
        }
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, ...vars) as tf.Tensor2D;
}

/**
 * Decoder up to the final norm: ids [B, T] (int32) → hidden states [B·T, D].
 * Each block runs in its own tidy: under a gradient tape only what the backward pass needs survives a
 * block (and with opts.checkpointing only the block's input); without a tape (reference pass,
 * scoring) nothing of a block outlives it. Call inside tf.tidy / tf.variableGrads. With opts.cache,
 * appends this call's keys/values to the cache (caller owns and disposes the cache tensors).
 */
export function forwardHidden(model: ModelLike, ids: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor2D {
  const cfg = model.config;
  const W = model.weights;
  const [B, T] = ids.shape;
  const P = opts.cache ? opts.cache.length : 0;
  const S = P + T;
  const Hkv = cfg.nKvHeads;
  const G = cfg.nHeads / Hkv;
  const training = opts.training ?? false;

  // (a frozen embedding larger than one storage binding is read in row blocks: row-blocks.ts)
  let x = gatherRows(W.embed, ids.reshape([B * T]) as tf.Tensor1D, !!W.trainableHead); // [N, D]
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
  const consts: BlockConsts = { rope, bias };
  const taping = tapeOn();
  const checkpoint = taping && !!opts.checkpointing && !opts.cache;

  // Without checkpointing each block ends with the next norm (fused with its residual add) and hands on
  // both; a checkpointed block ends with its output x alone.
  let h: tf.Tensor2D | undefined;
  for (let l = 0; l < cfg.nLayers; l++) {
    const adapters = blockLora(opts.lora, l, training, opts.dropoutSeed);
    const prev: tf.Tensor2D = x;
    const prevH = h;
    if (checkpoint) x = checkpointedBlock(model, l, prev, B, T, consts, adapters);
    else {
      const next = l + 1 < cfg.nLayers ? { n: W.layers[l + 1].attnNorm, last: false } : { n: W.finalNorm, last: true };
      const out: BlockOut = tf.tidy(() => block(model, l, prev, prevH, next, B, T, consts, adapters, opts.cache));
      if (out.x) x = out.x;
      h = out.h;
    }
    // Without a tape nothing refers to the previous block's outputs any more.
    if (!taping) {
      if (x !== prev) prev.dispose();
      prevH?.dispose();
    }
  }
  if (opts.cache) opts.cache.length = S;
  if (h) {
    if (!taping) x.dispose();
    return h;
  }
  return norm(x, W.finalNorm, cfg);
}

/**
 * Decoder forward: ids [B, T] (int32) → logits [B, T, V]. Materialises the logits: training and
 * scoring use forwardHidden + headLogprobs (logprobs.ts) instead.
 * Not wrapped in tidy: call inside tf.tidy / tf.variableGrads. With opts.cache, appends this
 * call's keys/values to the cache (caller owns and disposes the cache tensors).
 */
export function forward(model: ModelLike, ids: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
  const [B, T] = ids.shape;
  const hf = forwardHidden(model, ids, opts);
  const head = lmHead(model);
  const split = model.weights.trainableHead ? null : rowBlocks(head);
  if (split)
    return tf
      .concat(
        split.blocks.map((b) => matMulFrozenT(hf, b)),
        1,
      )
      .reshape([B, T, model.config.vocabSize]) as tf.Tensor3D;
  return (model.weights.trainableHead ? matMulT(hf, head) : matMulFrozenT(hf, head)).reshape([
    B,
    T,
    model.config.vocabSize,
  ]) as tf.Tensor3D;
}
