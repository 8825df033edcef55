/**
 * Memory guard: estimate the peak tensor memory of a training step (or a scoring pass) from the
 * model's shape and the run's options, compare it with what the backend can hold, and say which knob
 * to turn when it would not fit. Used by the CLI `train` and the workers before any step.
 *
 *   const e = estimatePeak(model.config, { batchSize: rows * getObjective('clo').layout.length, seqLen, lora, checkpointing });
 *   const c = checkBudget(e, budgetFor('wasm'));   // { ok, estimateBytes, budgetBytes, advice }
 *
 * The estimate (float32, 4 bytes a value; N = B·T positions of B sequences, d = dim, h = MLP hidden,
 * H = heads, L = layers, V = vocab) is the sum of
 *   weights      4 · params, plus on wasm (plainProductsOnly) the copies kept beside them (keptCopies): Wᵀ of frozen
 *                matrices up to 64 MiB (src/lib/model/matmul.ts) and, for a vocabulary cut into blocks,
 *                the head's transposed blocks (4 · V · d, src/lib/model/logprobs.ts). With a packed base
 *                (run.base 'int8' / 'f16', src/lib/model/packed-base.ts) the block matrices count their
 *                packed bytes (int8: 1 a value + 4 a row; f16: 2 a value) and no Wᵀ copies; where the
 *                packed-matmul kernel does not run, its reference path's dequantised copies (4 a value) too
 *   adapter      4 · P · 4  (LoRA values, their gradients, AdamW m and v)
 *   activations  what the policy pass holds when its backward pass starts: the tensors each block keeps
 *                for its gradient (the fused LoRA linears, norms and SwiGLU of layers.ts keep their
 *                inputs only; attention keeps its probabilities, except where the kernel registry
 *                picks the attention kernel (kernels/registry.ts, kernels/attention/: wasm), which
 *                keeps two floats per row and recomputes them), so
 *                  per block  4 · (d·N·d + h·N·h + s·B·H·T²)          (all L blocks; s = 0 with the kernel)
 *                with checkpointing, each block's input (4·N·d per block) plus one block's worth (the
 *                block being recomputed and back-propagated). Back-propagation frees each gradient
 *                and kept tensor once used (src/lib/model/backprop.ts): no gradients pile up
 *   working set  the larger of the output head's backward, which works in blocks of ≤ 2^22 logits
 *                (src/lib/model/logprobs.ts: `head` values per logit of a block, plus the hidden
 *                states and their gradient), and one block's backward (`back` × what the block keeps)
 * The coefficients (MEMORY_COEFFS) are fitted to tf.profile peaks (which count a tensor sharing another's
 * buffer once more) measured on wasm on stories260K, the 6-layer dim-256 model and the SmolLM2-135M
 * shape, SFT and CLO (bench/results/memory.json, bench/fit-memory.ts);
 * tests/model/memory-guard.test.ts checks the estimate against measured peaks, not this formula.
 */
import { countParams, type ModelConfig } from './config';
import type { LinearName } from './weights';
import { linearShape } from './adapter';
import { chunkPlan, VOCAB_SPLIT_ABOVE } from './logprobs';
import { DEFAULT_TRANSPOSE_CACHE_BYTES } from './matmul';
import { kernelFor, plainProductsOnly } from './kernels/registry';
import type { BaseFormat } from './base-format';

export interface MemoryRunShape {
  /** sequences per forward pass (rows × the objective's layout.length) */
  batchSize: number;
  seqLen: number;
  /** LoRA rank and targets; null = inference only (no adapter) */
  lora?: { r: number; targets: LinearName[] } | null;
  /** false = scoring/generation only: no gradients or optimizer state */
  training?: boolean;
  /** gradient checkpointing (recompute each block in the backward pass) */
  checkpointing?: boolean;
  /** the backend the run uses; wasm keeps transposed copies of some frozen matrices (keptCopies) */
  backend?: string;
  /** the frozen base's precision (model/packed-base.ts); default 'f32' */
  base?: BaseFormat;
}

export interface MemoryEstimate {
  weights: number;
  lora: number;
  gradients: number;
  optimizer: number;
  activations: number;
  /** largest transient on top of the kept tensors */
  working: number;
  total: number;
  /** largest single tensor, bytes */
  largestBuffer: number;
  largestBufferWhat: string;
  /** the run the estimate is for */
  run: MemoryRunShape;
}

export interface MemoryLimits {
  /** WebGPU adapter limits.maxBufferSize */
  maxBufferSize?: number;
  /** WebGPU adapter limits.maxStorageBufferBindingSize */
  maxStorageBufferBindingSize?: number;
  /** budget for everything together, bytes */
  totalBytes?: number;
}

export interface BudgetCheck {
  ok: boolean;
  estimateBytes: number;
  /** the total budget (Infinity when unknown) */
  budgetBytes: number;
  /** one line: what does not fit and which knob to turn; empty when ok */
  advice: string;
}

/** The wasm heap tops out at 4 GiB (32-bit addresses). */
export const WASM_HEAP_BYTES = 4 * 2 ** 30;

/**
 * The memory a backend offers: wasm its 4 GiB heap; WebGPU its buffer limits and, where the browser
 * says (navigator.deviceMemory, in GiB, rounded down and capped at 8), half the device's memory.
 */
export function budgetFor(
  backend: string,
  info: { limits?: { maxBufferSize?: number; maxStorageBufferBindingSize?: number }; deviceMemoryGiB?: number } = {},
): MemoryLimits {
  if (backend === 'wasm') return { totalBytes: WASM_HEAP_BYTES };
  // the cpu backend keeps tensors in JS typed arrays: no hard heap limit, but the same 4 GiB bound
  // keeps a mistyped batch size from swapping the machine (the runner says which knob to turn)
  if (backend === 'cpu') return { totalBytes: WASM_HEAP_BYTES };
  const lim: MemoryLimits = {
    maxBufferSize: info.limits?.maxBufferSize,
    maxStorageBufferBindingSize: info.limits?.maxStorageBufferBindingSize,
  };
  if (info.deviceMemoryGiB) lim.totalBytes = (info.deviceMemoryGiB / 2) * 2 ** 30;
  return lim;
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

/**
 * Fitted coefficients (values kept per block, see the header): d per position and model dimension,
 * h per position and MLP hidden unit, s per attention score; back: one block's backward pass (the
 * gradients it makes on top of what it keeps) as a fraction of what the block keeps; head per logit of an output-head block
 * (logits, exp, one-hot, their difference). Refit with bench/fit-memory.ts after engine changes.
 */
export const MEMORY_COEFFS = { d: 22, h: 2, s: 1.25, back: 1.875, head: 3 };

/**
 * Bytes the wasm backend keeps besides the weights: Wᵀ copies of frozen matrices up to the cache's
 * budget (src/lib/model/matmul.ts; the head counts among them when its vocabulary is one block), and
 * the head's transposed vocabulary blocks when the vocabulary is split (src/lib/model/logprobs.ts).
 */
export function keptCopies(c: ModelConfig, base: BaseFormat = 'f32'): number {
  const F = 4;
  // packed block matrices have no Wᵀ copies (their products run on the packed form)
  const linears = base === 'f32' ? blockMatrices(c).values : 0;
  const split = c.vocabSize > VOCAB_SPLIT_ABOVE;
  const cached = Math.min(DEFAULT_TRANSPOSE_CACHE_BYTES, F * (linears + (split ? 0 : c.vocabSize * c.dim)));
  return cached + (split ? F * c.vocabSize * c.dim : 0);
}

/** The frozen block matrices (q, k, v, o and the MLP's) of all layers: their values and their rows. */
export function blockMatrices(c: ModelConfig): { values: number; rows: number } {
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  const mlp = c.mlp === 'swiglu' ? 3 : 2;
  return {
    values: c.nLayers * (c.dim * (2 * q + 2 * kv) + mlp * c.dim * c.hiddenDim),
    rows: c.nLayers * (q + 2 * kv + c.dim + (mlp - 1) * c.hiddenDim + c.dim),
  };
}

/**
 * Bytes of the weights as held with this base format on this backend (see the header): the f32 params,
 * with the block matrices packed where `base` says so. `packedKernel`: whether the packed-matmul kernel
 * runs there (default: the kernel registry's answer; the page, which registers no kernels, says it).
 */
export function weightBytes(
  c: ModelConfig,
  base: BaseFormat = 'f32',
  backend = 'wasm',
  packedKernel = kernelFor('packed-matmul', { backend }) === 'kernel',
): number {
  const F = 4;
  const copies = plainProductsOnly(backend) ? keptCopies(c, base) : 0;
  if (base === 'f32') return F * countParams(c) + copies;
  const m = blockMatrices(c);
  const packed = base === 'int8' ? m.values + F * m.rows : 2 * m.values;
  const dequantised = packedKernel ? 0 : F * m.values;
  return F * (countParams(c) - m.values) + packed + dequantised + copies;
}

export function estimatePeak(c: ModelConfig, run: MemoryRunShape): MemoryEstimate {
  const F = 4;
  const B = run.batchSize;
  const T = run.seqLen;
  const N = B * T;
  const training = run.training ?? true;
  const P = run.lora ? loraParamCount(c, run.lora.r, run.lora.targets) : 0;
  const backend = run.backend ?? 'wasm';
  // the kernel registry's decisions for this backend, the same the step will take (kernels/registry.ts)
  const attentionKernel = kernelFor('attention', { backend, headDim: c.headDim }) === 'kernel';
  const emb = c.vocabSize * c.dim;
  const weights = weightBytes(c, run.base ?? 'f32', backend);
  const lora = F * P;
  const gradients = training ? F * P : 0;
  const optimizer = training ? 2 * F * P : 0;
  const k = MEMORY_COEFFS;
  // the attention kernel (kernels/attention/, wasm, head dims divisible by 4) keeps q, k, v and its output
  // (in the d term) and two floats per row, not the [B·H, T, T] probabilities the tf form keeps
  const keptScores = attentionKernel ? 0 : k.s * B * c.nHeads * T * T;
  const block = F * (k.d * N * c.dim + k.h * N * c.hiddenDim + keptScores);
  // one block's backward pass on top of what it keeps; the head's backward runs before any block's
  const blockBackward = k.back * block;
  const plan = chunkPlan(N, c.vocabSize);
  const head = F * k.head * plan.rows * plan.vocab + F * 2 * N * c.dim;
  let activations: number;
  let working: number;
  if (!training) {
    activations = 0;
    working = block + head;
  } else if (run.checkpointing) {
    // each block's input; one block recomputed and back-propagated at a time
    activations = F * c.nLayers * N * c.dim;
    working = block + Math.max(head, blockBackward);
  } else {
    activations = c.nLayers * block;
    working = Math.max(head, blockBackward);
  }
  const candidates: [number, string][] = [
    [emb, 'embedding table'],
    [plan.rows * plan.vocab, 'logits block (positions × vocabulary)'],
    [attentionKernel ? 0 : B * c.nHeads * T * T, 'attention scores (batch × heads × sequence²)'],
    [N * c.hiddenDim, 'MLP activations (batch × sequence × hidden)'],
  ];
  candidates.sort((a, b) => b[0] - a[0]);
  return {
    weights,
    lora,
    gradients,
    optimizer,
    activations,
    working,
    total: weights + lora + gradients + optimizer + activations + working,
    largestBuffer: F * candidates[0][0],
    largestBufferWhat: candidates[0][1],
    run: { ...run },
  };
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

/** Compares an estimate with a backend's budget; the advice names the knob to turn. */
export function checkBudget(e: MemoryEstimate, limits: MemoryLimits): BudgetCheck {
  const run = e.run;
  const budgetBytes = limits.totalBytes ?? Infinity;
  const bufLimit = Math.min(limits.maxBufferSize ?? Infinity, limits.maxStorageBufferBindingSize ?? Infinity);
  const what = `batch ${run.batchSize} sequences, sequence ${run.seqLen}${run.lora ? `, LoRA rank ${run.lora.r}` : ''}${run.checkpointing ? ', checkpointing on' : ''}`;
  const fail = (advice: string): BudgetCheck => ({ ok: false, estimateBytes: e.total, budgetBytes, advice });
  if (e.largestBuffer > bufLimit) {
    const fix =
      e.largestBufferWhat === 'embedding table'
        ? 'this model is too large for this GPU: pick a smaller model or the wasm backend'
        : e.largestBufferWhat.startsWith('attention')
          ? 'use a shorter sequence (it grows with its square) or a smaller batch (gradient accumulation keeps the effective batch)'
          : e.largestBufferWhat.startsWith('logits')
            ? 'this vocabulary is too large for this GPU: use the wasm backend'
            : 'use a smaller batch (gradient accumulation keeps the effective batch) or a shorter sequence';
    return fail(
      `Out of GPU buffer size: the ${e.largestBufferWhat} needs ${formatBytes(e.largestBuffer)} but this GPU allows ${formatBytes(bufLimit)} per buffer (${what}); ${fix}.`,
    );
  }
  if (e.total > budgetBytes) {
    if (e.weights > budgetBytes)
      return fail(
        `Not enough memory: the model weights alone need ${formatBytes(e.weights)}, the budget is ${formatBytes(budgetBytes)}; pick a smaller model.`,
      );
    const adapter = e.lora + e.gradients + e.optimizer;
    let fix: string;
    if (adapter > e.activations + e.working) fix = 'use a lower LoRA rank or fewer target modules';
    else if (e.weights > 0.75 * budgetBytes)
      fix = `the model weights alone take ${formatBytes(e.weights)}${(run.backend ?? 'wasm') === 'wasm' ? ' (on wasm including the transposed copies kept of the head and of frozen matrices)' : ''}: pick a smaller model`;
    else if (!run.checkpointing && (run.training ?? true) && e.activations > e.working)
      fix =
        'turn on gradient checkpointing (--grad-checkpointing), or use a smaller batch with gradient accumulation, or a shorter sequence';
    else if (run.batchSize > 1)
      fix = 'use a smaller batch with gradient accumulation (same effective batch), or a shorter sequence';
    else fix = 'use a shorter sequence';
    return fail(
      `Not enough memory: ${formatBytes(e.total)} estimated (weights ${formatBytes(e.weights)}, activations ${formatBytes(e.activations + e.working)}, LoRA + gradients + optimizer ${formatBytes(adapter)}) for ${what}, budget ${formatBytes(budgetBytes)}; ${fix}.`,
    );
  }
  return { ok: true, estimateBytes: e.total, budgetBytes, advice: '' };
}
