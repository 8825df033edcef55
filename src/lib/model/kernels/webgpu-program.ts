import * as tf from '@tensorflow/tfjs';

/**
 * Running a hand-written WGSL compute shader on tfjs-backend-webgpu's device, in its command stream,
 * with any number of outputs (tfjs's own `runWebGPUProgram` writes one output per dispatch; SwiGLU's
 * backward writes two, AdamW three). The shader sees, in `@group(0)`:
 *
 *   bindings 0 … outs−1           var<storage, read_write> (the outputs, in order)
 *   bindings outs … outs+ins−1    var<storage, read>       (the inputs, in order)
 *   binding  outs+ins             var<uniform> u: U        (when `uniforms` is given; scalars only)
 *
 * The pass, submission batching, buffer ownership and profiling follow what tfjs's recordAndSubmit does
 * for its own programs, so a lab kernel sits between tfjs kernels like one of them (one dispatch each).
 * Pipelines are compiled once per `key` and device.
 */

/** The parts of tfjs-backend-webgpu's WebGPUBackend (4.22) this module uses. */
interface WebgpuBackendInternals {
  device: GPUDevice;
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  dispatchCountInPass: number;
  commandQueueOwnedIds: WeakSet<object>;
  activeTimers: { name: string; query: Promise<number> }[] | null;
  supportTimestampQuery: boolean;
  querySet: GPUQuerySet | null;
  querySetCount: number;
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  uploadToGPU(dataId: object): void;
  tensorToBinding(t: tf.TensorInfo): GPUBindingResource;
  makeUniforms(u: { type: string; data: number[] }[]): GPUBindingResource;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  getQueryTime(): Promise<number>;
}

export interface WgslProgram {
  /** the pipeline cache key: one per distinct shader text */
  key: string;
  /** the whole shader, entry point `main` */
  code: string;
  /** workgroups per dimension */
  workgroups: [number, number, number];
}

/** A scalar uniform, in the order of the shader's `U` struct fields. */
export interface WgslUniform {
  type: 'float32' | 'int32' | 'uint32';
  value: number;
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

function pipelineFor(device: GPUDevice, prog: WgslProgram): GPUComputePipeline {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, (cache = new Map()));
  let p = cache.get(prog.key);
  if (!p) {
    const module = device.createShaderModule({ code: prog.code, label: prog.key });
    p = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: prog.key });
    cache.set(prog.key, p);
  }
  return p;
}

/**
 * Record one dispatch of `prog` reading `inputs` and writing new tensors of the `outputs` shapes
 * (float32 unless said), returned in order. Call from a tfjs kernelFunc of the webgpu backend.
 */
export function runWgsl(
  backend: unknown,
  prog: WgslProgram,
  inputs: tf.TensorInfo[],
  outputs: { shape: number[]; dtype?: tf.DataType }[],
  uniforms: WgslUniform[] = [],
): tf.TensorInfo[] {
  const be = backend as WebgpuBackendInternals;
  const outs = outputs.map((o) => be.makeTensorInfo(o.shape, o.dtype ?? 'float32'));
  if (outs.every((o) => tf.util.sizeFromShape(o.shape) === 0)) return outs;
  for (const t of [...outs, ...inputs]) be.uploadToGPU(t.dataId);
  const pipeline = pipelineFor(be.device, prog);
  const resources = [...outs, ...inputs].map((t) => be.tensorToBinding(t));
  if (uniforms.length) resources.push(be.makeUniforms(uniforms.map((x) => ({ type: x.type, data: [x.value] }))));
  for (const t of [...outs, ...inputs]) be.commandQueueOwnedIds.add(t.dataId);
  const bindGroup = be.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: resources.map((resource, binding) => ({ binding, resource })),
  });
  const timed = be.activeTimers != null;
  be.ensureCommandEncoderReady();
  if (timed && be.supportTimestampQuery) {
    // profiled (tf.profile, tf.time): the pass of this dispatch alone, timed as tfjs times its programs
    be.endComputePassEncoder();
    be.querySet ??= be.device.createQuerySet({ type: 'timestamp', count: be.querySetCount });
    be.computePassEncoder = be.commandEncoder!.beginComputePass({
      timestampWrites: { querySet: be.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
    });
  } else if (!be.computePassEncoder) be.computePassEncoder = be.commandEncoder!.beginComputePass({});
  be.computePassEncoder.setPipeline(pipeline);
  be.computePassEncoder.setBindGroup(0, bindGroup);
  be.computePassEncoder.dispatchWorkgroups(...prog.workgroups);
  be.dispatchCountInPass++;
  if (timed || (tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number) <= be.dispatchCountInPass) {
    be.endComputePassEncoder();
    if (timed) be.activeTimers!.push({ name: prog.key, query: be.getQueryTime() });
    else be.submitQueue();
  }
  return outs;
}

/** The most workgroups per dimension every WebGPU device allows (the spec's default limit). */
const MAX_GROUPS = 65535;

/**
 * Workgroups for `count` independent groups of work (elements / WG, rows, …): one dimension while it
 * fits, else a second. In the shader, `groupIndex(wid, nwg)` (FLAT_GROUP_WGSL) recovers the flat index.
 */
export function groupsFor(count: number): [number, number, number] {
  const x = Math.max(1, Math.min(count, MAX_GROUPS));
  return [x, Math.max(1, Math.ceil(count / x)), 1];
}

/** WGSL: the flat workgroup index of a dispatch made by groupsFor. */
export const FLAT_GROUP_WGSL = /* wgsl */ `
fn groupIndex(wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.y * nwg.x + wid.x; }
`;

// tfjs's own runWebGPUProgram (one output a dispatch, tfjs's preamble), for kernels written against it

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
  /** flat ({x: [0]}: `fn main(index : i32)`) or 2-D ({x, y}: `fn main()`, the builtins as private variables) */
  dispatchLayout: { x: number[]; y?: number[] };
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
