import type * as tf from '@tensorflow/tfjs';

/**
 * What the lab's WGSL kernels need of tfjs-backend-webgpu, typed here so that src/lib does not import the
 * package: its backend's runWebGPUProgram, and the fields of a WebGPUProgram that the backend reads.
 * The backend puts a preamble in front of getUserCode(): a `uniforms` struct (its own fields, then
 * `uniforms` below), one storage array per input named after variableNames, the output array `result`,
 * and the builtins (localIndex, workgroupId, numWorkgroups) as private variables; with a flat
 * dispatchLayout ({x: [0]}) it calls `fn main(index : i32)`.
 */
export interface WebGPUProgramLike {
  outputShape: number[];
  /** the pipeline cache key (the backend appends the input ranks and dtypes) */
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  uniforms: string;
  workgroupSize: [number, number, number];
  getUserCode(): string;
}

export type UniformData = { type: 'int32' | 'float32'; data: number[] }[];

export interface WebGPUBackendLike {
  runWebGPUProgram(
    program: WebGPUProgramLike,
    inputs: tf.TensorInfo[],
    dtype: tf.DataType,
    uniforms?: UniformData,
  ): tf.TensorInfo;
}

/** Whether a tfjs backend instance is tfjs-backend-webgpu's (has runWebGPUProgram). */
export const isWebGPUBackend = (b: unknown): b is WebGPUBackendLike =>
  typeof (b as { runWebGPUProgram?: unknown } | null)?.runWebGPUProgram === 'function';

/** The backend as WebGPUBackendLike, or an error naming the kernel. */
export function webgpuBackendOf(b: unknown, what: string): WebGPUBackendLike {
  if (!isWebGPUBackend(b)) throw new Error(`${what} runs on the webgpu backend only`);
  return b;
}
