/**
 * Memory guard: estimate what a run needs before it starts and refuse, with what to change, when it
 * would not fit (WebGPU buffer limits, or a total budget).
 *
 * Estimate, in float32 bytes (4 per value), B = batch, T = sequence length, d = dim, h = hiddenDim,
 * H = heads, V = vocab, L = layers, P = LoRA parameters (Σ over adapted layers of r·(in + out)):
 *   weights     = 4 · countParams(cfg)
 *   lora        = 4 · P;   gradients = 4 · P;   optimizer (AdamW m and v) = 8 · P
 *   activations = 4 · [ L · (B·T·(84·d + 28·h) + 7·B·H·T²) + 9·B·T·V ]   (training)
 * The coefficients are fitted to tf.profile peaks of real steps on the wasm backend (bench/bench.ts):
 * stories260K SFT 8×128 peaked at 372 MiB, the 6-layer dim-256 model at 1,185 MiB, stories260K CLO
 * (32 sequences × 128) at 1,478 MiB; this formula gives 357, 1,142 and 1,428 MiB. tfjs keeps every
 * op output the backward pass needs (RoPE, residual and norm intermediates, the attention scores,
 * their mask, scale and softmax), about 7× the textbook activation count. Without training only one
 * layer's activations are alive at a time (divide the layer term by L).
 * The largest single buffer is max(V·d, B·T·V, B·H·T², B·T·h) values.
 */
import { countParams, type ModelConfig } from './config';
import type { LinearName } from './weights';
import { linearShape } from './adapter';

export interface MemoryRunShape {
  batchSize: number;
  seqLen: number;
  /** LoRA rank and targets; null = inference only (no adapter) */
  lora?: { r: number; targets: LinearName[] } | null;
  /** false = scoring/generation only: no gradients or optimizer state */
  training?: boolean;
}

export interface MemoryEstimate {
  weights: number;
  lora: number;
  gradients: number;
  optimizer: number;
  activations: number;
  total: number;
  /** largest single tensor, bytes */
  largestBuffer: number;
  largestBufferWhat: string;
}

export interface MemoryLimits {
  /** WebGPU adapter limits.maxBufferSize */
  maxBufferSize?: number;
  /** WebGPU adapter limits.maxStorageBufferBindingSize */
  maxStorageBufferBindingSize?: number;
  /** budget for everything together, bytes */
  totalBytes?: number;
}

export interface MemoryCheck {
  ok: boolean;
  estimate: MemoryEstimate;
  /** one line; empty when ok */
  message: string;
}

export function loraParamCount(c: ModelConfig, r: number, targets: LinearName[]): number {
  let per = 0;
  for (const t of targets) {
    if (t === 'gate_proj' && c.mlp !== 'swiglu') continue;
    const [o, i] = linearShape(c, t);
    per += r * (o + i);
  }
  return per * c.nLayers;
}

export function estimateMemory(c: ModelConfig, run: MemoryRunShape): MemoryEstimate {
  const F = 4;
  const B = run.batchSize;
  const T = run.seqLen;
  const training = run.training ?? true;
  const P = run.lora ? loraParamCount(c, run.lora.r, run.lora.targets) : 0;
  const weights = F * countParams(c);
  const lora = F * P;
  const gradients = training ? F * P : 0;
  const optimizer = training ? 2 * F * P : 0;
  const perLayer = B * T * (84 * c.dim + 28 * c.hiddenDim) + 7 * B * c.nHeads * T * T;
  const logits = 9 * B * T * c.vocabSize;
  const activations = F * ((training ? c.nLayers : 1) * perLayer + logits);
  const candidates: [number, string][] = [
    [c.vocabSize * c.dim, 'embedding table'],
    [B * T * c.vocabSize, 'logits (batch × sequence × vocab)'],
    [B * c.nHeads * T * T, 'attention scores (batch × heads × sequence²)'],
    [B * T * c.hiddenDim, 'MLP activations (batch × sequence × hidden)'],
  ];
  candidates.sort((a, b) => b[0] - a[0]);
  return {
    weights,
    lora,
    gradients,
    optimizer,
    activations,
    total: weights + lora + gradients + optimizer + activations,
    largestBuffer: F * candidates[0][0],
    largestBufferWhat: candidates[0][1],
  };
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

/** Compares the estimate with the limits; the message says which knob to turn. */
export function checkMemory(c: ModelConfig, run: MemoryRunShape, limits: MemoryLimits): MemoryCheck {
  const e = estimateMemory(c, run);
  const bufLimit = Math.min(limits.maxBufferSize ?? Infinity, limits.maxStorageBufferBindingSize ?? Infinity);
  const what = `batch ${run.batchSize}, sequence ${run.seqLen}${run.lora ? `, LoRA rank ${run.lora.r}` : ''}`;
  if (e.largestBuffer > bufLimit) {
    const fix =
      e.largestBufferWhat === 'embedding table'
        ? 'this model is too large for this GPU: pick a smaller model or the wasm backend'
        : e.largestBufferWhat.startsWith('attention')
          ? 'use a shorter sequence (it grows with its square) or a smaller batch'
          : 'use a smaller batch or a shorter sequence';
    return { ok: false, estimate: e, message: `Out of GPU buffer size: the ${e.largestBufferWhat} needs ${formatBytes(e.largestBuffer)} but this GPU allows ${formatBytes(bufLimit)} per buffer (${what}); ${fix}.` };
  }
  const total = limits.totalBytes ?? Infinity;
  if (e.total > total) {
    if (e.weights > total) return { ok: false, estimate: e, message: `Not enough memory: the model weights alone need ${formatBytes(e.weights)}, the budget is ${formatBytes(total)}; pick a smaller model.` };
    const parts: [number, string][] = [
      [e.activations, 'use a smaller batch or a shorter sequence'],
      [e.lora + e.gradients + e.optimizer, 'use a lower LoRA rank or fewer target modules'],
    ];
    parts.sort((a, b) => b[0] - a[0]);
    return {
      ok: false,
      estimate: e,
      message: `Not enough memory: ${formatBytes(e.total)} estimated (weights ${formatBytes(e.weights)}, activations ${formatBytes(e.activations)}, LoRA + gradients + optimizer ${formatBytes(e.lora + e.gradients + e.optimizer)}) for ${what}, budget ${formatBytes(total)}; ${parts[0][1]}.`,
    };
  }
  return { ok: true, estimate: e, message: '' };
}
