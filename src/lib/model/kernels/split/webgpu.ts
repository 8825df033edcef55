/**
 * tfjs-backend-webgpu's SplitV runs one Slice, one dispatch, per piece; AdamW splits its flat update
 * into one piece per variable every step (48 pieces on the 6-layer model with LoRA on q, k, v, o).
 * Here one dispatch writes a group of pieces, as many as the device binds storage buffers beside the
 * input (maxStorageBuffersPerShaderStage − 1, at most MAX_PIECES), along any axis: the input is read as
 * [outer, rowLen] and each piece is a block of columns. float32 and int32 (4-byte elements, copied as
 * bits); other dtypes, inputs tfjs keeps on the CPU and splits with an empty piece go to tfjs's own SplitV.
 * Installed by installLabKernels (../install.ts) at backend start.
 */
import * as tf from '@tensorflow/tfjs';
import { FLAT_GROUP_WGSL, groupsFor, runWgsl } from '../webgpu-program';

const WG = 256;
/** pieces per dispatch at most (the shader's size; devices commonly bind 8 to 16 storage buffers) */
const MAX_PIECES = 15;

/** Piece j holds the columns [e(j−1), e(j)) of a group of `width` columns starting at col0 (e(−1) = 0). */
const code = (k: number) => {
  const ends = Array.from({ length: k }, (_, j) => `e${j}: u32`).join(', ');
  const outs = Array.from(
    { length: k },
    (_, j) => `@group(0) @binding(${j}) var<storage, read_write> o${j}: array<u32>;`,
  ).join('\n');
  const start = (j: number) => (j === 0 ? '0u' : `params.e${j - 1}`);
  const write = (j: number) => `o${j}[row * (params.e${j} - ${start(j)}) + col - ${start(j)}] = v;`;
  const branches = Array.from({ length: k }, (_, j) =>
    j === k - 1 ? `{ ${write(j)} }` : `if (col < params.e${j}) { ${write(j)} }`,
  ).join(' else ');
  return /* wgsl */ `
struct U { n: u32, width: u32, rowLen: u32, col0: u32, ${ends} };
${outs}
@group(0) @binding(${k}) var<storage, read> x: array<u32>;
@group(0) @binding(${k + 1}) var<uniform> params: U;
${FLAT_GROUP_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = groupIndex(wid, nwg) * ${WG}u + lid;
  if (i >= params.n) { return; }
  let row = i / params.width;
  let col = i - row * params.width;
  let v = x[row * params.rowLen + params.col0 + col];
  ${branches}
}
`;
};

interface SplitBackend {
  device: GPUDevice;
  shouldExecuteOnCPU(inputs: tf.TensorInfo[]): boolean;
}

let installed = false;

export function fastWebgpuSplit(): void {
  if (installed) return;
  const orig = tf.getKernel('SplitV', 'webgpu');
  if (!orig) return;
  installed = true;
  tf.unregisterKernel('SplitV', 'webgpu');
  tf.registerKernel({
    ...orig,
    kernelFunc: (args) => {
      const { inputs, attrs, backend } = args;
      const x = inputs.x as tf.TensorInfo;
      const { numOrSizeSplits, axis } = attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
      const ax = tf.util.parseAxisParam(axis, x.shape)[0];
      const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
      const be = backend as unknown as SplitBackend;
      if ((x.dtype !== 'float32' && x.dtype !== 'int32') || sizes.some((s) => s === 0) || be.shouldExecuteOnCPU([x]))
        return orig.kernelFunc(args);
      const outer = tf.util.sizeFromShape(x.shape.slice(0, ax));
      const inner = tf.util.sizeFromShape(x.shape.slice(ax + 1));
      const rowLen = x.shape[ax] * inner;
      const perDispatch = Math.max(1, Math.min(MAX_PIECES, be.device.limits.maxStorageBuffersPerShaderStage - 1));
      const out: tf.TensorInfo[] = [];
      let col0 = 0;
      for (let first = 0; first < sizes.length; first += perDispatch) {
        const group = sizes.slice(first, first + perDispatch);
        const ends: number[] = [];
        let width = 0;
        for (const s of group) ends.push((width += s * inner));
        const shapes = group.map((s) => {
          const shape = x.shape.slice();
          shape[ax] = s;
          return { shape, dtype: x.dtype };
        });
        const n = outer * width;
        out.push(
          ...runWgsl(
            backend,
            { key: `CloLabSplit${group.length}`, code: code(group.length), workgroups: groupsFor(Math.ceil(n / WG)) },
            [x],
            shapes,
            [n, width, rowLen, col0, ...ends].map((value) => ({ type: 'uint32' as const, value })),
          ),
        );
        col0 += width;
      }
      return out;
    },
  });
}
