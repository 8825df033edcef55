/**
 * The lab's own WebGPU device for tfjs-backend-webgpu: created with the adapter's maxima for every
 * limit (not WebGPU's defaults, e.g. 128 MiB per storage binding), and watched for loss. tfjs'
 * WebGPU backend cannot survive its device: once `device.lost` resolves every tensor on it is gone,
 * so a step in flight ends with DeviceLostError and the run continues from its last checkpoint after
 * recreateWebgpuBackend() (and a reload of the model's weights onto the new device).
 *
 * The entry points (cli/node-env.ts, workers/host/boot.ts) call registerLabWebgpu once, with the
 * WebGPUBackend class of tfjs-backend-webgpu, before the backend first starts.
 */
import * as tf from '@tensorflow/tfjs';

/** The part of a GPUDevice read here. */
export interface GpuDeviceLike {
  readonly limits: Record<string, unknown>;
  readonly lost: Promise<{ reason?: string; message?: string }>;
  destroy(): void;
}

interface GpuAdapterLike {
  readonly limits: Record<string, unknown>;
  readonly info?: unknown;
  requestAdapterInfo?: () => Promise<unknown>;
  requestDevice(desc?: { requiredLimits?: Record<string, number> }): Promise<GpuDeviceLike>;
}

/** tfjs-backend-webgpu's WebGPUBackend class (passed in, so that this module does not load it). */
export type WebGPUBackendClass = new (device: never, adapterInfo?: never) => tf.KernelBackend;

export interface DeviceLoss {
  /** 'destroyed' or 'unknown' (WebGPU's GPUDeviceLostReason) */
  reason: string;
  message: string;
}

let device: GpuDeviceLike | null = null;
let loss: DeviceLoss | null = null;
let backendClass: WebGPUBackendClass | null = null;

/** The numeric limits of an adapter (every key its `limits` object has, own or inherited). */
export function adapterMaxima(limits: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k in limits) {
    const v = limits[k];
    if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  }
  return out;
}

async function createBackend(): Promise<tf.KernelBackend> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(o?: object): Promise<GpuAdapterLike | null> } } })
    .navigator?.gpu;
  if (!gpu) throw new Error('WebGPU is not available here (no navigator.gpu)');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no WebGPU adapter');
  const dev = await adapter.requestDevice({ requiredLimits: adapterMaxima(adapter.limits) });
  const info = adapter.info ?? (adapter.requestAdapterInfo ? await adapter.requestAdapterInfo() : undefined);
  device = dev;
  loss = null;
  void dev.lost.then((l) => {
    // a device replaced since (recreateWebgpuBackend) no longer speaks for the backend
    if (device === dev) loss = { reason: l.reason ?? 'unknown', message: l.message ?? '' };
  });
  return new backendClass!(dev as never, info as never);
}

/**
 * Registers tfjs' 'webgpu' backend on the lab's device (replacing tfjs' own registration, which asks
 * for a few limits only and ignores device loss). Call before the backend first starts; later calls
 * do nothing.
 */
export function registerLabWebgpu(cls: WebGPUBackendClass): void {
  if (backendClass) return; // registered already (a second boot keeps the running backend)
  backendClass = cls;
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', createBackend, 3);
}

/** The device of the running WebGPU backend, or null (another backend, or not started). */
export function webgpuDevice(): GpuDeviceLike | null {
  return device;
}

/** How the current WebGPU device was lost, or null while it is alive (or none exists). */
export function webgpuDeviceLoss(): DeviceLoss | null {
  return loss;
}

/**
 * A new WebGPU backend on a new device, after a loss: the old backend is removed (its tensors are
 * gone with the device) and 'webgpu' becomes the current backend again. Model weights must be
 * loaded again by the caller.
 */
export async function recreateWebgpuBackend(): Promise<void> {
  if (!backendClass) throw new Error('recreateWebgpuBackend: registerLabWebgpu was not called');
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  device = null;
  loss = null;
  tf.registerBackend('webgpu', createBackend, 3);
  if (!(await tf.setBackend('webgpu'))) throw new Error('the WebGPU backend could not be re-created');
}

/** A training step (or other work) ended because the WebGPU device was lost. */
export class DeviceLostError extends Error {
  constructor(
    message: string,
    readonly loss: DeviceLoss,
  ) {
    super(message);
    this.name = 'DeviceLostError';
  }
}

/**
 * `e` as a DeviceLostError when the WebGPU device is lost (waiting briefly for `device.lost`, which
 * may settle just after the failed read), else null. `what` names the work, e.g. "step 4".
 */
export async function asDeviceLost(e: unknown, what: string): Promise<DeviceLostError | null> {
  if (e instanceof DeviceLostError) return e;
  const dev = device;
  if (!dev || tf.getBackend() !== 'webgpu') return null;
  if (!loss) await Promise.race([dev.lost, new Promise((r) => setTimeout(r, 50))]);
  await Promise.resolve();
  const l = loss as DeviceLoss | null;
  if (!l) return null;
  const detail = [l.reason, l.message].filter(Boolean).join(': ');
  return new DeviceLostError(
    `the WebGPU device was lost during ${what} (${detail}); the step was not completed and the weights on the GPU are gone: re-create the backend and resume from the last checkpoint`,
    l,
  );
}

let bindingOverride: number | null | undefined;

/**
 * Lowers the largest storage binding the lab assumes (bytes), below the device's own limit: tests
 * force it low so that a tiny model's matrices are split as a large one's are on a real device. null
 * goes back to the device's limit. The environment variable CLO_MAX_BINDING_BYTES sets the same.
 */
export function setStorageBindingLimit(bytes: number | null): void {
  bindingOverride = bytes;
}

/**
 * The largest tensor (bytes) one kernel may bind: the WebGPU device's maxStorageBufferBindingSize
 * on the webgpu backend, unbounded elsewhere; lowered by setStorageBindingLimit or
 * CLO_MAX_BINDING_BYTES on any backend.
 */
export function storageBindingLimit(): number {
  if (bindingOverride === undefined) {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
    const v = Number(env?.CLO_MAX_BINDING_BYTES);
    bindingOverride = v > 0 ? v : null;
  }
  const dev = tf.getBackend() === 'webgpu' ? Number(device?.limits.maxStorageBufferBindingSize) : NaN;
  return Math.min(bindingOverride ?? Infinity, dev > 0 ? dev : Infinity);
}

/** The part of tfjs-backend-webgpu's backend used to copy rows between buffers. */
interface WebgpuInternals {
  tensorMap: { get(id: object): { values?: ArrayLike<number> | null; resource?: unknown } };
  uploadToGPU(id: object): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  commandEncoder: { copyBufferToBuffer(s: unknown, so: number, d: unknown, dOff: number, n: number): void };
  bufferManager: { acquireBuffer(size: number, usage: number): unknown };
  makeTensorInfo(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

/**
 * Rows [r0, r0 + n) of a float32 matrix on the webgpu backend, as a new tensor made without binding
 * the matrix (which may exceed the binding limit): cut from its values while they are still on the
 * CPU, else copied buffer to buffer on the device, queued in order with the backend's other work.
 * null on other backends.
 */
export function webgpuCopyRows(w: tf.Tensor2D, r0: number, n: number): tf.Tensor2D | null {
  if (tf.getBackend() !== 'webgpu' || w.dtype !== 'float32') return null;
  const D = w.shape[1];
  const be = tf.backend() as unknown as WebgpuInternals;
  const data = be.tensorMap.get(w.dataId);
  if (data.values) return tf.tensor2d((data.values as Float32Array).subarray(r0 * D, (r0 + n) * D), [n, D]);
  be.uploadToGPU(w.dataId);
  const usage = (globalThis as unknown as { GPUBufferUsage: Record<string, number> }).GPUBufferUsage;
  const size = n * D * 4;
  const buf = be.bufferManager.acquireBuffer(size, usage.STORAGE | usage.COPY_SRC | usage.COPY_DST);
  be.ensureCommandEncoderReady();
  be.endComputePassEncoder();
  be.commandEncoder.copyBufferToBuffer(data.resource, r0 * D * 4, buf, 0, size);
  const info = be.makeTensorInfo([n, D], 'float32');
  be.tensorMap.get(info.dataId).resource = buf;
  const engine = tf.engine() as unknown as { makeTensorFromTensorInfo(i: tf.TensorInfo): tf.Tensor };
  return engine.makeTensorFromTensorInfo(info) as tf.Tensor2D;
}
