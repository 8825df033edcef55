import * as tf from '@tensorflow/tfjs';
import type { ModelWeights } from './weights';
import { PackedWeight } from './kernels/packed-matmul/packed-matmul';

/**
 * A copy of a weights tree with every tensor leaf, and each packed matrix (as a PackedWeight again, same
 * format and bytes), created anew on the backend in use: what a second backend trains on while the auto
 * pick measures it (cli/auto-backend.ts, workers/train/auto-pick.ts), so the first backend's weights stay
 * untouched. Values are read asynchronously; the caller disposes the copy (disposeWeights).
 */
export async function copyWeights(w: ModelWeights): Promise<ModelWeights> {
  const copy = async (v: unknown): Promise<unknown> => {
    if (v instanceof tf.Tensor) return tf.tensor(await v.data(), v.shape, v.dtype);
    if (v instanceof PackedWeight) {
      const data = (await v.data.data()) as Int32Array;
      const scales = v.format === 'int8' ? ((await v.scales.data()) as Float32Array).slice() : null;
      const bytes = new Uint8Array(data.slice().buffer);
      return new PackedWeight({ format: v.format, rows: v.rows, cols: v.cols, bytes, scales });
    }
    if (Array.isArray(v)) return Promise.all(v.map(copy));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = await copy(x);
      return out;
    }
    return v;
  };
  return (await copy(w)) as ModelWeights;
}
