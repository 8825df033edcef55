import * as tf from '@tensorflow/tfjs';
import {
  backwardInMemory,
  forwardInMemory,
  prepareBias,
  type Exports,
  type PreparedBias,
  type Scratch,
} from './kernel';
import { wasmBytes } from './attention-wasm';
import { heapAlloc, kernelOnBackend, offsetOf, type WasmBackendLike } from '../wasm-heap';
import { registerLabKernel } from '../registry';
import { BACKWARD, FORWARD, shapeOf, type Attrs } from './op';

/**
 * The attention kernel as two tfjs kernels of the wasm backend ('CloLabAttention' and its gradient),
 * running in place on tfjs-backend-wasm's heap: the kernel module is instantiated on that very memory
 * (a shared one in tfjs's threaded build), reads q, k, v where the tensors lie and writes its outputs
 * into tensors the backend allocated. Before, each call read its inputs out of the heap (dataSync) and
 * wrote its outputs back (a new tensor from an array): a 6-layer CLO step took 5.3–6.3 s of CPU that
 * way against 3.8–4.7 s in place (one process, the two paths alternating). Scratch (gathered rows, transposed keys) comes from the backend's own malloc and is freed
 * when the call returns.
 */

const heapKernel = (backend: unknown) => kernelOnBackend<Exports>(backend, 'attention', wasmBytes);

const heapScratch =
  (be: WasmBackendLike): Scratch =>
  (bytes) =>
    heapAlloc(be, bytes);

/** The bias as the kernel wants it (padded, per-row kEnd), computed once per bias buffer. */
const preparedBias = new WeakMap<object, PreparedBias>();
function biasOnHeap(be: WasmBackendLike, K: Exports, bias: tf.TensorInfo): PreparedBias {
  let p = preparedBias.get(bias.dataId);
  if (!p) {
    const [pairs, R, S] = bias.shape;
    p = prepareBias(new Float32Array(K.mem.buffer, offsetOf(be, bias), pairs * R * S), pairs, R, S);
    preparedBias.set(bias.dataId, p);
  }
  return p;
}

/**
 * Registers the two kernels with tfjs for the wasm backend, and the op with the kernel registry
 * (installLabKernels calls it; idempotent). The kernel takes head dims divisible by 4, and q, k already
 * rotated (no RoPE folded in: attentionHeads applies it first).
 */
export function registerWasmAttention(): void {
  registerLabKernel({
    op: 'attention',
    backendName: 'wasm',
    kernelName: FORWARD,
    ready: (backend) => heapKernel(backend) !== null,
    applies: ({ headDim, rope }) => !rope && (headDim === undefined || headDim % 4 === 0),
  });
  if (tf.getKernel(FORWARD, 'wasm')) return;
  tf.registerKernel({
    kernelName: FORWARD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { be, K } = heapKernel(backend)!;
      const a = attrs as unknown as Attrs;
      const { q, k, v, bias } = inputs as Record<string, tf.TensorInfo>;
      const pb = biasOnHeap(be, K, bias);
      const out = be.makeOutput(a.outShape, 'float32');
      const stats = be.makeOutput([2, a.n, a.R], 'float32');
      const off = (t: tf.TensorInfo) => offsetOf(be, t);
      forwardInMemory(
        K,
        shapeOf(a),
        pb,
        { q: off(q), k: off(k), v: off(v), out: off(out), stats: off(stats) },
        heapScratch(be),
      );
      return [out, stats];
    },
  });
  tf.registerKernel({
    kernelName: BACKWARD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { be, K } = heapKernel(backend)!;
      const a = attrs as unknown as Attrs;
      const { q, k, v, bias, out, stats, dO } = inputs as Record<string, tf.TensorInfo>;
      const pb = biasOnHeap(be, K, bias);
      const dq = be.makeOutput(q.shape, 'float32');
      const dk = be.makeOutput(k.shape, 'float32');
      const dv = be.makeOutput(v.shape, 'float32');
      const off = (t: tf.TensorInfo) => offsetOf(be, t);
      const io = {
        q: off(q),
        k: off(k),
        v: off(v),
        out: off(out),
        stats: off(stats),
        dO: off(dO),
        dq: off(dq),
        dk: off(dk),
        dv: off(dv),
      };
      backwardInMemory(K, shapeOf(a), pb, io, heapScratch(be));
      return [dq, dk, dv];
    },
  });
}
