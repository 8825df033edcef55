/**
 * tfjs-backend-wasm 4.22 has no UnsortedSegmentSum kernel, which is the gradient of gather (the
 * embedding lookup). Training embedding rows needs it, so a plain-JS kernel is registered for
 * wasm when none exists: out[s, :] = Σ_{i : seg[i] = s} x[i, :]. Other backends have their own.
 * Installed by installLabKernels (../install.ts) at backend start.
 */
import * as tf from '@tensorflow/tfjs';

let done = false;

export function ensureWasmSegmentSum(): void {
  if (done) return;
  done = true;
  if (tf.getKernel('UnsortedSegmentSum', 'wasm')) return;
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as unknown as {
        readSync(id: unknown): ArrayLike<number>;
        makeOutput(
          shape: number[],
          dtype: tf.DataType,
          offset?: number,
          values?: Float32Array | Int32Array,
        ): tf.TensorInfo;
      };
      const x = inputs.x as tf.TensorInfo;
      const seg = inputs.segmentIds as tf.TensorInfo;
      const n = (attrs as unknown as { numSegments: number }).numSegments;
      const xv = b.readSync(x.dataId);
      const sv = b.readSync(seg.dataId);
      const rows = seg.shape.reduce((a, c) => a * c, 1);
      const innerShape = x.shape.slice(seg.shape.length);
      const inner = innerShape.reduce((a, c) => a * c, 1);
      const out = x.dtype === 'int32' ? new Int32Array(n * inner) : new Float32Array(n * inner);
      for (let i = 0; i < rows; i++) {
        const s = sv[i];
        if (s < 0 || s >= n) continue;
        for (let j = 0; j < inner; j++) out[s * inner + j] += xv[i * inner + j];
      }
      return b.makeOutput([n, ...innerShape], x.dtype, undefined, out);
    },
  });
}
