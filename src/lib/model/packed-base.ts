import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from './model';
import type { Linear } from './weights';
import type { BaseFormat } from './base-format';
import { packMatrix, unpackMatrix } from './kernels/packed-matmul/pack';
import { PackedWeight } from './kernels/packed-matmul/packed-matmul';
import { releaseTransposes } from './matmul';

export { PackedWeight } from './kernels/packed-matmul/packed-matmul';

/**
 * The frozen base in lower precision: 'f32' (as loaded), 'f16' or 'int8' (one f32 scale per output row).
 * packFrozenBase packs the frozen matrices of every block (q, k, v, o, gate, up, down; not the embedding
 * or the output head) and replaces each f32 tensor by its packed form (Linear.w becomes a PackedWeight),
 * so the f32 matrix, and the transposed copy wasm keeps of small ones (matmul.ts), are gone. The products
 * with it (matmul.ts: matMulFrozenT, frozenProductT, frozenProduct, so the forward x·Wᵀ and the activation
 * gradient dy·W) go through the packed-matmul kernel on wasm (W read packed, dequantised row by row inside
 * the kernel) and through its reference path elsewhere (which keeps a dequantised copy: the saving is on
 * wasm). LoRA, gradients and the optimiser stay f32. Whatever needs W as f32 (export, merging an adapter,
 * training a matrix at full rank) takes a temporary dequantised copy (denseWeight).
 */
export { BASE_CHOICES, BASE_FORMATS, PACKED_BASE_ABOVE_PARAMS, defaultBaseFormat, resolveBase } from './base-format';
export type { BaseChoice, BaseFormat } from './base-format';

/** The packed form of a linear's weight, if it is packed. */
export function packedForm(w: Linear['w']): PackedWeight | undefined {
  return w instanceof PackedWeight && !w.isDisposed ? w : undefined;
}

/**
 * A linear's weight as an f32 tensor: the tensor itself, or for a packed weight a new dequantised one
 * (`owned`: the caller disposes it).
 */
export function denseWeight(w: Linear['w']): { t: tf.Tensor2D; owned: boolean } {
  return w instanceof PackedWeight ? { t: w.dense(), owned: true } : { t: w, owned: false };
}

/** The frozen base format a loaded model has now: that of its first packed matrix, else 'f32'. */
export function baseFormatOf(model: LoadedModel): BaseFormat {
  for (const layer of model.weights.layers)
    for (const lin of Object.values(layer.linears)) if (lin?.w instanceof PackedWeight) return lin.w.format;
  return 'f32';
}

/** What packing changed: matrices packed, their f32 bytes and their packed bytes. */
export interface PackedBaseSummary {
  format: BaseFormat;
  matrices: number;
  f32Bytes: number;
  packedBytes: number;
}

/**
 * Pack the frozen block matrices of a loaded model in `format` (see the module comment); the f32 tensors
 * are disposed. A model already packed is repacked from its dequantised values ('f32' unpacks it: the
 * values are then those of the packed matrices, not the ones loaded).
 */
export function packFrozenBase(model: LoadedModel, format: BaseFormat): PackedBaseSummary {
  const summary: PackedBaseSummary = { format, matrices: 0, f32Bytes: 0, packedBytes: 0 };
  for (const layer of model.weights.layers)
    for (const lin of Object.values(layer.linears)) {
      // a weight trained at full rank is a Variable: it is not frozen
      if (!lin || lin.w instanceof tf.Variable) continue;
      const old = lin.w;
      if (old instanceof PackedWeight && old.format === format) {
        count(summary, old);
        continue;
      }
      if (!(old instanceof PackedWeight) && format === 'f32') continue;
      const [rows, cols] = old.shape;
      const values = old instanceof PackedWeight ? unpackMatrix(old.read()) : (old.dataSync() as Float32Array);
      if (format === 'f32') lin.w = tf.tensor2d(values, [rows, cols]);
      else {
        lin.w = new PackedWeight(packMatrix(values, rows, cols, format));
        count(summary, lin.w);
      }
      if (old instanceof PackedWeight) old.dispose();
      else {
        releaseTransposes([old]);
        old.dispose();
      }
    }
  return summary;
}

function count(s: PackedBaseSummary, w: PackedWeight): void {
  s.matrices++;
  s.f32Bytes += 4 * w.rows * w.cols;
  s.packedBytes += w.bytes;
}
