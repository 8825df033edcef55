/**
 * tfjs-backend-wasm's Slice reads its whole input out of the heap (readSync, a copy) for every slice,
 * even a contiguous one, and then copies the piece back in; its SplitV calls that Slice once per piece,
 * so it copies the input k times for k pieces. On the threaded build's shared heap that read also runs
 * at only ~1 GB/s. AdamW splits its flat update into one piece per adapter matrix every step (48 pieces
 * on the 6-layer model). Here contiguous slices of 4-byte dtypes are one copy inside the heap
 * (copyWithin), for Slice and for each piece of SplitV; other slices go to tfjs's own Slice. Installed
 * by installLabKernels (../install.ts) at backend start, beside ../identity/wasm.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { heapOf, offsetOf } from '../wasm-heap';

let installed = false;

type KernelArgs = Parameters<tf.KernelFunc>[0];

export function fastWasmSlice(): void {
  if (installed) return;
  const origSlice = tf.getKernel('Slice', 'wasm');
  const origSplit = tf.getKernel('SplitV', 'wasm');
  if (!origSlice || !origSplit) return;
  installed = true;

  /** One slice: in the heap where it is contiguous, else tfjs's kernel. */
  const slice = (x: tf.TensorInfo, begin: number[], size: number[], backend: KernelArgs['backend']): tf.TensorInfo => {
    const heap = x.dtype === 'float32' || x.dtype === 'int32' ? heapOf(backend) : null;
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    if (!heap || !tf.slice_util.isSliceContinous(x.shape, b, s))
      return origSlice.kernelFunc({ inputs: { x }, attrs: { begin, size }, backend }) as tf.TensorInfo;
    const out = heap.be.makeOutput(s, x.dtype);
    const n = tf.util.sizeFromShape(s);
    if (n > 0) {
      const from = offsetOf(heap.be, x) + 4 * tf.slice_util.computeFlatOffset(b, tf.util.computeStrides(x.shape));
      // after makeOutput (which may grow the memory), so the view is current
      new Uint8Array(heap.memory.buffer).copyWithin(offsetOf(heap.be, out), from, from + 4 * n);
    }
    return out;
  };

  tf.unregisterKernel('Slice', 'wasm');
  tf.registerKernel({
    ...origSlice,
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { begin, size } = attrs as unknown as { begin: number[]; size: number[] };
      return slice(inputs.x as tf.TensorInfo, begin, size, backend);
    },
  });
  tf.unregisterKernel('SplitV', 'wasm');
  tf.registerKernel({
    ...origSplit,
    kernelFunc: ({ inputs, attrs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      const { numOrSizeSplits, axis } = attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
      const ax = tf.util.parseAxisParam(axis, x.shape)[0];
      const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
      const begin = new Array<number>(x.shape.length).fill(0);
      return sizes.map((s) => {
        const size = x.shape.slice();
        size[ax] = s;
        const piece = slice(x, begin.slice(), size, backend);
        begin[ax] += s;
        return piece;
      });
    },
  });
}
