import * as tf from '@tensorflow/tfjs';
import { BACKEND_ORDER, autoOrder, type BackendName } from './order';

export interface BackendChoice {
  name: string;
  /** backends tried before and why they were passed over */
  fallbackFrom: { name: string; reason: string }[];
  adapterInfo?: { vendor?: string; architecture?: string; description?: string; limits?: Record<string, number> };
}

/** @deprecated read BACKEND_ORDER from ./order (the one list) */
export const DEFAULT_ORDER: string[] = [...BACKEND_ORDER];

/** The part of a WebGPU adapter read here (`info` is newer; `requestAdapterInfo()` is what older browsers have). */
type GpuAdapterInfoLike = { vendor?: string; architecture?: string; description?: string };
type GpuAdapterLike = {
  info?: GpuAdapterInfoLike;
  requestAdapterInfo?: () => Promise<GpuAdapterInfoLike>;
  limits?: Record<string, unknown>;
};

/** WebGPU adapter details, where the environment has one. */
export async function webgpuAdapterInfo(): Promise<BackendChoice['adapterInfo'] | null> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } } }).navigator
    ?.gpu;
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter();
  if (!adapter) return null;
  const info = adapter.info ?? (adapter.requestAdapterInfo ? await adapter.requestAdapterInfo() : {});
  const limits: Record<string, number> = {};
  for (const k of [
    'maxBufferSize',
    'maxStorageBufferBindingSize',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
  ])
    if (adapter.limits?.[k] !== undefined) limits[k] = Number(adapter.limits[k]);
  return { vendor: info.vendor, architecture: info.architecture, description: info.description, limits };
}

/** Is this WebGPU adapter a software rasteriser (SwiftShader, CPU)? Then wasm is faster. */
export function isSoftwareAdapter(info: BackendChoice['adapterInfo'] | null | undefined): boolean {
  const s = `${info?.vendor ?? ''} ${info?.architecture ?? ''} ${info?.description ?? ''}`.toLowerCase();
  return /swiftshader|llvmpipe|lavapipe|software|cpu/.test(s);
}

/** The adapter's name when it is a software one, else null. */
export function softwareAdapterName(info: BackendChoice['adapterInfo'] | null | undefined): string | null {
  if (!isSoftwareAdapter(info)) return null;
  return [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' / ') || 'software';
}

/**
 * "auto" or a forced backend, the same way everywhere (workers and CLI): without `preferred`, the
 * order is BACKEND_ORDER restricted to `available`, with a software WebGPU adapter moved behind wasm
 * (autoOrder); that demotion is the first entry of `fallbackFrom`, so the UI/CLI can say why.
 */
export async function selectAutoBackend(
  preferred: string | null | undefined,
  available: readonly BackendName[] = BACKEND_ORDER,
): Promise<BackendChoice> {
  if (preferred) return selectBackend(preferred);
  const software =
    available.includes('webgpu') && tf.findBackendFactory('webgpu')
      ? softwareAdapterName(await webgpuAdapterInfo().catch(() => null))
      : null;
  const { order, demoted } = autoOrder(software, available);
  const choice = await selectBackend(null, order);
  if (demoted && choice.name !== demoted.name) choice.fallbackFrom.unshift(demoted);
  return choice;
}

/**
 * Pick the first backend in `order` that is registered and runs a tiny op; `preferred` forces one
 * (an error if it does not work). Backends must be registered (imported) by the entry point.
 */
export async function selectBackend(
  preferred?: string | null,
  order: string[] = DEFAULT_ORDER,
): Promise<BackendChoice> {
  const candidates = preferred ? [preferred] : order;
  const fallbackFrom: BackendChoice['fallbackFrom'] = [];
  for (const name of candidates) {
    if (!tf.findBackendFactory(name)) {
      fallbackFrom.push({ name, reason: 'not available in this environment' });
      continue;
    }
    try {
      const ok = await tf.setBackend(name);
      if (!ok) throw new Error('initialisation failed');
      await tf.ready();
      const probe = tf.tidy(() => tf.sum(tf.matMul(tf.ones([4, 4]), tf.ones([4, 4]))));
      const v = (await probe.data())[0];
      probe.dispose();
      if (v !== 64) throw new Error(`self-test gave ${v}, expected 64`);
      const adapterInfo = name === 'webgpu' ? ((await webgpuAdapterInfo()) ?? undefined) : undefined;
      return { name, fallbackFrom, adapterInfo };
    } catch (e) {
      fallbackFrom.push({ name, reason: (e as Error).message });
    }
  }
  if (preferred) throw new Error(`--backend ${preferred}: ${fallbackFrom.map((f) => f.reason).join('; ')}`);
  throw new Error(
    `no TensorFlow.js backend works here (${fallbackFrom.map((f) => `${f.name}: ${f.reason}`).join('; ')})`,
  );
}
