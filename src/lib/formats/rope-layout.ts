/**
 * Row layouts of the q/k projections under the two RoPE conventions. llama2.c (and Meta's original
 * Llama) rotate adjacent pairs (2i, 2i+1) of each head ("interleaved"); Hugging Face Llama rotates
 * halves (i, i + d/2) ("half"). Converting a model between them reorders the output rows of q_proj
 * and k_proj per head (k with the key/value head count under GQA). Anything that adds to those rows,
 * i.e. the bias and a LoRA adapter's B, must be reordered the same way; A (input side) is unchanged.
 */
import type { ModelConfig } from '../model/config';
import type { LinearName } from '../model/weights';

function permuteRows(data: Float32Array, nHeads: number, headDim: number, cols: number, toHalf: boolean): Float32Array {
  if (data.length !== nHeads * headDim * cols)
    throw new Error(`rope layout: ${data.length} values is not ${nHeads} heads × ${headDim} × ${cols}`);
  const out = new Float32Array(data.length);
  const half = headDim / 2;
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < half; i++) {
      for (const p of [0, 1]) {
        const inter = (h * headDim + 2 * i + p) * cols;
        const halfRow = (h * headDim + p * half + i) * cols;
        const [src, dst] = toHalf ? [inter, halfRow] : [halfRow, inter];
        out.set(data.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

/** Rows of a [nHeads·headDim, cols] matrix (or bias, cols = 1): interleaved → half (new row i = old 2i, new d/2 + i = old 2i + 1). */
export function permuteInterleavedToHalf(
  data: Float32Array,
  nHeads: number,
  headDim: number,
  cols: number,
): Float32Array {
  return permuteRows(data, nHeads, headDim, cols, true);
}

/** The inverse of permuteInterleavedToHalf. */
export function permuteHalfToInterleaved(
  data: Float32Array,
  nHeads: number,
  headDim: number,
  cols: number,
): Float32Array {
  return permuteRows(data, nHeads, headDim, cols, false);
}

/** Heads whose rows the HF export reorders for this target, or 0 when the target keeps its layout. */
export function ropeRowHeads(model: ModelConfig, target: LinearName): number {
  if (model.position !== 'rope' || model.ropeStyle !== 'interleaved') return 0;
  if (target === 'q_proj') return model.nHeads;
  if (target === 'k_proj') return model.nKvHeads;
  return 0;
}
