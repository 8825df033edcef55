import * as tf from '@tensorflow/tfjs';
import { wasmBytes } from './swiglu-wasm';
import { kernelOnBackend, offsetOf } from '../wasm-heap';
import { registerLabKernel } from '../registry';
import { SWIGLU_BACKWARD as BACKWARD, SWIGLU_FORWARD as FORWARD } from './swiglu';

/**
 * SwiGLU's elementwise part (silu(g)·u) and its gradient as two tfjs kernels of the wasm backend
 * ('CloLabSwiGLU', 'CloLabSwiGLUGrad'), running swiglu.wat in place on the backend's heap: one
 * SIMD pass each, where tfjs-wasm runs 3 (forward) and 9 (backward) scalar elementwise ops over the
 * [N, hidden] activations (~9% of a 6-layer training step went to those multiplies).
 */
interface SwigluExports {
  forward(g: number, u: number, out: number, n: number): void;
  backward(g: number, u: number, dy: number, dg: number, du: number, n: number): void;
}

const heapKernel = (backend: unknown) => kernelOnBackend<SwigluExports>(backend, 'swiglu', wasmBytes);

/** Registers the two kernels with tfjs for the wasm backend, and the op with the kernel registry (idempotent). */
export function registerWasmSwiglu(): void {
  registerLabKernel({
    op: 'swiglu',
    backendName: 'wasm',
    kernelName: FORWARD,
    ready: (backend) => heapKernel(backend) !== null,
  });
  if (tf.getKernel(FORWARD, 'wasm')) return;
  tf.registerKernel({
    kernelName: FORWARD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const { be, K } = heapKernel(backend)!;
      const { g, u } = inputs as Record<string, tf.TensorInfo>;
      const out = be.makeOutput(g.shape, 'float32');
      K.forward(offsetOf(be, g), offsetOf(be, u), offsetOf(be, out), tf.util.sizeFromShape(g.shape));
      return out;
    },
  });
  tf.registerKernel({
    kernelName: BACKWARD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const { be, K } = heapKernel(backend)!;
      const { g, u, dy } = inputs as Record<string, tf.TensorInfo>;
      const dg = be.makeOutput(g.shape, 'float32');
      const du = be.makeOutput(g.shape, 'float32');
      const off = (t: tf.TensorInfo) => offsetOf(be, t);
      K.backward(off(g), off(u), off(dy), off(dg), off(du), tf.util.sizeFromShape(g.shape));
      return [dg, du];
    },
  });
}
