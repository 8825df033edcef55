/**
 * Memory guard: estimate what a run needs before it starts and refuse, with what to change, when it
 * would not fit (WebGPU buffer limits, or a total budget).
 *
 * Estimate, in float32 bytes (4 per value), B = batch, T = sequence length, d = dim, h = hiddenDim,
 * H = heads, V = vocab, L = layers, P = LoRA parameters (Σ over adapted layers of r·(in + out)):
 *   weights     = 4 · countParams(cfg)
 *   lora        = 4 · P;   gradients = 4 · P;   optimizer (AdamW m and v) = 8 · P
 *   activations = 4 · [ L · (B·T·(12·d + 4·h) + 2·B·H·T²) + 3·B·T·V ]
 * The activation term counts what backprop keeps per layer (normed inputs, q/k/v, attention output,
 * residuals, MLP gate/up/product ≈ 12·d + 4·h values per token, attention scores and probabilities
 * 2·H·T² per sequence) and the logits, their softmax and gradient (3·V per token). It is an
 * estimate, deliberately on the high side; tfjs frees intermediate tensors eagerly.
 * The largest single buffer is max(V·d, B·T·V, B·H·T², B·T·h) values.
 */
import { countParams, type ModelConfig } from './config';
import type { LinearName } from './weights';
import { linearShape } from '../lora/lora';

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
  const perLayer = B * T * (12 * c.dim + 4 * c.hiddenDim) + 2 * B * c.nHeads * T * T;
  const logits = 3 * B * T * c.vocabSize;
  const activations = F * (c.nLayers * perLayer + logits);
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
