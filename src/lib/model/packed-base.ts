import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from './model';
import { packMatrix, packedBytes, type PackedMatrix } from './kernels/packed-matmul/pack';
import { releasePacked } from './kernels/packed-matmul/packed-matmul';

/**
 * The frozen base in lower precision: 'f32' (as loaded), 'f16' or 'int8' (per-row scales). packFrozenBase
 * packs the frozen matrices of every block (q, k, v, o, gate, up, down; not the embedding or the output
 * head) and records each packed form against its f32 tensor; from then on the products with that tensor
 * (matmul.ts: matMulFrozenT, frozenProductT, frozenProduct, so the forward x·Wᵀ and the activation
 * gradient dy·W) use the packed matrix: on wasm through the packed-matmul kernel, elsewhere through its
 * reference path (W dequantised). LoRA, gradients and the optimiser stay f32. The f32 tensors stay
 * loaded (export, merging and the embedding still read them), so this changes the numbers a run sees,
 * not yet the memory it takes.
 */
export type BaseFormat = 'f32' | 'f16' | 'int8';

const packedOf = new WeakMap<tf.Tensor, PackedMatrix>();

/** The packed form recorded for a frozen weight, if any. */
export function packedForm(w: tf.Tensor): PackedMatrix | undefined {
  const p = packedOf.get(w);
  return p && !w.isDisposed ? p : undefined;
}

/** What packing changed: matrices packed, their f32 bytes and their packed bytes. */
export interface PackedBaseSummary {
  format: BaseFormat;
  matrices: number;
  f32Bytes: number;
  packedBytes: number;
}

/** Pack (or, with 'f32', unpack) the frozen block matrices of a loaded model; see the module comment. */
export function packFrozenBase(model: LoadedModel, format: BaseFormat): PackedBaseSummary {
  const summary: PackedBaseSummary = { format, matrices: 0, f32Bytes: 0, packedBytes: 0 };
  for (const layer of model.weights.layers)
    for (const lin of Object.values(layer.linears)) {
      if (!lin) continue;
      const old = packedOf.get(lin.w);
      if (old) releasePacked(old);
      packedOf.delete(lin.w);
      // a weight trained at full rank is a Variable: it is not frozen
      if (format === 'f32' || lin.w instanceof tf.Variable) continue;
      const [rows, cols] = lin.w.shape;
      const p = packMatrix(lin.w.dataSync() as Float32Array, rows, cols, format);
      packedOf.set(lin.w, p);
      summary.matrices++;
      summary.f32Bytes += 4 * rows * cols;
      summary.packedBytes += packedBytes(p);
    }
  return summary;
}
