/**
 * Frozen matrices larger than one storage binding (src/lib/backend/webgpu-device.ts
 * storageBindingLimit: WebGPU's maxStorageBufferBindingSize, e.g. Qwen2.5-0.5B's 151,936 × 896
 * embedding is 545 MB in f32 where many adapters bind 128 MiB or 256 MiB), cut into blocks of whole
 * rows that each fit. The model reads such a matrix through the blocks only where it uses it whole:
 * the embedding gather (gatherRows) and the output head (logprobs.ts headLogprobs, forward.ts forward).
 *
 * On WebGPU the blocks are copied buffer to buffer by webgpuCopyRows (a copy binds nothing, so it works on a matrix too
 * large to bind), or cut from the values while they are still on the CPU (never uploaded whole);
 * elsewhere they are slices. Blocks are cached per matrix while it lives (releaseRowBlocks).
 * Only frozen matrices are split: a matrix that gets a gradient (embedding rows in training) is read whole.
 */
import * as tf from '@tensorflow/tfjs';
import { storageBindingLimit, webgpuCopyRows } from '../backend/webgpu-device';

const BYTES = 4;

/** Rows of a [rows, cols] float32 matrix per block under the binding limit: all of them when it fits. */
export function rowsPerBlock(rows: number, cols: number, limit = storageBindingLimit()): number {
  if (rows * cols * BYTES <= limit) return rows;
  return Math.max(1, Math.floor(limit / (cols * BYTES)));
}

interface Blocks {
  limit: number;
  rows: number;
  blocks: tf.Tensor2D[];
}
const cache = new WeakMap<tf.Tensor, Blocks>();

/** Rows [r0, r0 + n) of w as a new tensor: copied on the WebGPU device without binding w, else a slice. */
function copyRows(w: tf.Tensor2D, r0: number, n: number): tf.Tensor2D {
  return webgpuCopyRows(w, r0, n) ?? tf.slice(w, [r0, 0], [n, w.shape[1]]);
}

/**
 * The row blocks of a frozen [rows, cols] matrix larger than one binding (each `rows` rows, the last
 * shorter), or null when it fits whole. Cached while w lives; the blocks outlive any tidy.
 */
export function rowBlocks(w: tf.Tensor2D): { rows: number; blocks: tf.Tensor2D[] } | null {
  const limit = storageBindingLimit();
  const [V, D] = w.shape;
  const rows = rowsPerBlock(V, D, limit);
  if (rows >= V) return null;
  let e = cache.get(w);
  if (!e || e.limit !== limit || e.blocks.some((b) => b.isDisposed)) {
    e?.blocks.forEach((b) => b.dispose());
    const blocks: tf.Tensor2D[] = [];
    for (let r0 = 0; r0 < V; r0 += rows) blocks.push(tf.keep(copyRows(w, r0, Math.min(rows, V - r0))));
    e = { limit, rows, blocks };
    cache.set(w, e);
  }
  return { rows: e.rows, blocks: e.blocks };
}

/** Drops the cached blocks of w (when disposing a model). */
export function releaseRowBlocks(w: tf.Tensor | undefined): void {
  const e = w && cache.get(w);
  if (e) {
    e.blocks.forEach((b) => b.dispose());
    cache.delete(w);
  }
}

/**
 * tf.gather(w, ids) for a frozen w [V, D] and int32 ids [N], reading w through its row blocks when it
 * is larger than one binding: each block gathers every id (clamped into the block), then one more
 * gather picks each id's row from its own block. The same values as the whole gather, bit for bit.
 */
export function gatherRows(w: tf.Tensor2D, ids: tf.Tensor1D, trainable = false): tf.Tensor2D {
  const split = trainable ? null : rowBlocks(w);
  if (!split) return tf.gather(w, ids) as tf.Tensor2D;
  const { rows, blocks } = split;
  const N = ids.shape[0];
  return tf.tidy(() => {
    const i32 = (v: number) => tf.scalar(v, 'int32');
    const parts = blocks.map((b, j) =>
      tf.gather(b, tf.minimum(tf.maximum(tf.sub(ids, i32(j * rows)), i32(0)), i32(b.shape[0] - 1))),
    );
    const which = tf.floorDiv(ids, i32(rows));
    const at = tf.add(tf.mul(which, i32(N)), tf.range(0, N, 1, 'int32'));
    return tf.gather(tf.concat(parts, 0), at) as tf.Tensor2D;
  });
}
