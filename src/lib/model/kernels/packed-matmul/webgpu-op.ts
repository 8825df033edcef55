import * as tf from '@tensorflow/tfjs';
import { registerLabKernel } from '../registry';
import { webgpuBackendOf, type UniformData, type WebGPUProgramLike } from '../webgpu-program';

/**
 * The packed-matrix products on the WebGPU backend, under the same two tfjs kernel names as on wasm
 * ('CloLabPackedMatMul': y = x·Wᵀ, 'CloLabPackedMatMulGradX': dx = dy·W), so packed-matmul.ts runs them
 * through one call whichever backend holds the tensors. W stays packed in GPU memory as the int32 words
 * of its bytes (pack.ts): f16 pairs read with WGSL's core `unpack2x16float` (no shader-f16 feature
 * needed), int8 bytes sign-extended with `extractBits` and multiplied by the row's f32 scale. Both
 * kernels are 16 × 16 tiles staged in workgroup memory, accumulating in f32; the dequantised value of
 * each element is the f32 that unpackMatrix gives, so the reference path (tf.matMul on the unpacked
 * matrix) differs only in the order of the sums.
 */

const FORWARD = 'CloLabPackedMatMul';
const BACKWARD = 'CloLabPackedMatMulGradX';
const TILE = 16;

interface Attrs {
  fmt: number;
  N: number;
  K: number;
}

/** W[n, k] as f32, from the packed words W (and the per-row scales S for int8). */
function dequantSnippet(fmt: number): string {
  return fmt === 1
    ? `fn wAt(n : i32, k : i32) -> f32 {
        let i = n * uniforms.cols + k;
        _ = S[0]; // f16 has no scales: the placeholder stays bound (an unused binding would leave the layout)
        let pair = unpack2x16float(bitcast<u32>(W[i >> 1u]));
        return select(pair.x, pair.y, (i & 1) == 1);
      }`
    : `fn wAt(n : i32, k : i32) -> f32 {
        let i = n * uniforms.cols + k;
        let q = extractBits(W[i >> 2u], u32(i & 3) * 8u, 8u);
        return f32(q) * S[n];
      }`;
}

/**
 * y[m, n] = Σ_k A[m, k]·W[n, k] (forward) or dx[m, k] = Σ_n A[m, n]·W[n, k] (backward): one output
 * element a thread, over tiles of the reduced dimension.
 */
function program(dir: 'forward' | 'backward', M: number, attrs: Attrs): WebGPUProgramLike {
  const { fmt, N, K } = attrs;
  const outCols = dir === 'forward' ? N : K;
  const reduce = dir === 'forward' ? 'uniforms.cols' : 'uniforms.rows';
  // forward: a tile of A [m][k] and of W [n][k]; backward: a tile of A [m][n] and of W [n][k]
  const loadW =
    dir === 'forward'
      ? `let wn = i32(workgroupId.x) * ${TILE} + ty;
         let wk = r0 + tx;
         var w = 0.0;
         if (wn < uniforms.rows && wk < uniforms.cols) { w = wAt(wn, wk); }
         wTile[ty][tx] = w;`
      : `let wn = r0 + ty;
         let wk = i32(workgroupId.x) * ${TILE} + tx;
         var w = 0.0;
         if (wn < uniforms.rows && wk < uniforms.cols) { w = wAt(wn, wk); }
         wTile[ty][tx] = w;`;
  const product = dir === 'forward' ? 'aTile[ty][j] * wTile[tx][j]' : 'aTile[ty][j] * wTile[j][tx]';
  return {
    variableNames: ['A', 'W', 'S'],
    outputShape: [M, outCols],
    shaderKey: `cloLabPackedMatMul_${dir}_${fmt}`,
    dispatchLayout: { x: [1], y: [0] },
    dispatch: [Math.ceil(outCols / TILE), Math.ceil(M / TILE), 1],
    workgroupSize: [TILE, TILE, 1],
    uniforms: 'rows : i32, cols : i32, m : i32,',
    getUserCode: () => `
      var<workgroup> aTile : array<array<f32, ${TILE}>, ${TILE}>;
      var<workgroup> wTile : array<array<f32, ${TILE}>, ${TILE}>;
      ${dequantSnippet(fmt)}
      fn main() {
        let tx = i32(localId.x);
        let ty = i32(localId.y);
        let oc = i32(globalId.x);
        let om = i32(globalId.y);
        let inner = ${reduce};
        let outCols = ${dir === 'forward' ? 'uniforms.rows' : 'uniforms.cols'};
        var acc = 0.0;
        for (var r0 = 0; r0 < inner; r0 = r0 + ${TILE}) {
          let am = i32(workgroupId.y) * ${TILE} + ty;
          let ar = r0 + tx;
          var a = 0.0;
          if (am < uniforms.m && ar < inner) { a = A[am * inner + ar]; }
          aTile[ty][tx] = a;
          ${loadW}
          workgroupBarrier();
          for (var j = 0; j < ${TILE}; j = j + 1) { acc = acc + ${product}; }
          workgroupBarrier();
        }
        if (om < uniforms.m && oc < outCols) { result[om * outCols + oc] = acc; }
      }
    `,
  };
}

/** Registers the two kernels with tfjs for the webgpu backend, and the op with the kernel registry (idempotent). */
export function registerWebgpuPackedMatMul(): void {
  registerLabKernel({ op: 'packed-matmul', backendName: 'webgpu', kernelName: FORWARD, ready: () => true });
  if (tf.getKernel(FORWARD, 'webgpu')) return;
  const run = (dir: 'forward' | 'backward') =>
    (({ inputs, backend, attrs }) => {
      const { a, w, scales } = inputs as Record<string, tf.TensorInfo>;
      const at = attrs as unknown as Attrs;
      const M = a.shape[0];
      const uniforms: UniformData = [
        { type: 'int32', data: [at.N] },
        { type: 'int32', data: [at.K] },
        { type: 'int32', data: [M] },
      ];
      return webgpuBackendOf(backend, 'CloLabPackedMatMul').runWebGPUProgram(
        program(dir, M, at),
        [a, w, scales],
        'float32',
        uniforms,
      );
    }) as tf.KernelFunc;
  tf.registerKernel({ kernelName: FORWARD, backendName: 'webgpu', kernelFunc: run('forward') });
  tf.registerKernel({ kernelName: BACKWARD, backendName: 'webgpu', kernelFunc: run('backward') });
}
