/** Describes the tfjs backend in use: WebGPU adapter name and the device limits tfjs requested. Worker-side. */
import * as tf from '@tensorflow/tfjs';
/** WebGPU adapter as reported in the ready event. */
export interface AdapterDescription {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  /** the device limits tfjs asked for (it requests the adapter's maxima for buffers and workgroups) */
  limits?: Record<string, number>;
}

const LIMIT_KEYS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
] as const;

interface WebGpuBackendLike {
  device?: { limits?: Record<string, number> };
  adapterInfo?: { vendor?: string; architecture?: string };
}

/** For webgpu: vendor/architecture and limits (tfjs asks the device for the adapter's maxima). Else undefined. */
export function describeAdapter(fromSelect?: Record<string, unknown>): AdapterDescription | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  const be = tf.backend() as unknown as WebGpuBackendLike;
  const limits: Record<string, number> = {};
  for (const k of LIMIT_KEYS) {
    const v = be.device?.limits?.[k];
    if (typeof v === 'number') limits[k] = v;
  }
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  return {
    vendor: str(fromSelect?.vendor) ?? str(be.adapterInfo?.vendor),
    architecture: str(fromSelect?.architecture) ?? str(be.adapterInfo?.architecture),
    device: str(fromSelect?.device),
    description: str(fromSelect?.description),
    limits,
  };
}
