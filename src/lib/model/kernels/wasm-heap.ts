/**
 * tfjs-backend-wasm's heap, for code that works on tensors where they lie (the attention kernel, the
 * contiguous Slice): the backend's WebAssembly.Memory (a shared one in tfjs's threaded build), each
 * tensor's byte offset, and scratch from the backend's own malloc. These are internals of tfjs-backend-wasm
 * 4.22 (not in its typings); where they are missing, heapOf answers null and callers take their copying
 * paths.
 */
import type * as tf from '@tensorflow/tfjs';

/** What this needs of tfjs-backend-wasm's BackendWasm. */
export interface WasmBackendLike {
  wasm: {
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    /** the single-threaded build's exports, with its memory */
    asm?: { memory?: unknown };
    /** the threaded build's (shared) memory */
    wasmMemory?: unknown;
  };
  dataIdMap: { get(dataId: object): { memoryOffset: number | null } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

export interface WasmHeap {
  be: WasmBackendLike;
  memory: WebAssembly.Memory;
  /** the memory is a SharedArrayBuffer (threaded build) */
  shared: boolean;
}

/** The heap of a wasm backend instance, or null (another backend, or a build this does not know). */
export function heapOf(backend: unknown): WasmHeap | null {
  const be = backend as Partial<WasmBackendLike> | null;
  const mod = be?.wasm;
  if (!be || !mod || typeof mod._malloc !== 'function' || !be.dataIdMap || typeof be.makeOutput !== 'function')
    return null;
  const memory = mod.asm?.memory ?? mod.wasmMemory;
  if (!(memory instanceof WebAssembly.Memory)) return null;
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  return { be: be as WasmBackendLike, memory, shared };
}

/** Byte offset of a tensor's data on the heap. */
export function offsetOf(be: WasmBackendLike, t: tf.TensorInfo): number {
  const at = be.dataIdMap.get(t.dataId)?.memoryOffset;
  if (at == null) throw new Error('a tensor has no data on the wasm heap');
  return at;
}

/** `bytes` of scratch from the backend's malloc, and how to give it back. */
export function heapAlloc(be: WasmBackendLike, bytes: number): { at: number; release(): void } {
  const at = be.wasm._malloc(bytes) >>> 0;
  if (!at) throw new Error(`the wasm heap could not give ${bytes} bytes`);
  return { at, release: () => be.wasm._free(at) };
}

/** A kernel module (kernels/*.wat, whose memory is imported as env.mem) instantiated on a memory. */
export function instantiateKernel<T>(bytes: Uint8Array<ArrayBuffer>, memory: WebAssembly.Memory): T {
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem: memory } }).exports as T;
}

const instances = new WeakMap<WebAssembly.Memory, Map<string, unknown>>();

/**
 * A hand-written kernel module instantiated on the heap's memory, once per memory; `bytes(shared)`
 * gives the module built for a plain or a shared memory. Null where WebAssembly SIMD is missing (the
 * module does not validate).
 */
export function moduleOnHeap<T>(
  heap: WasmHeap,
  name: string,
  bytes: (shared: boolean) => Uint8Array<ArrayBuffer>,
): T | null {
  let byName = instances.get(heap.memory);
  if (!byName) instances.set(heap.memory, (byName = new Map()));
  if (!byName.has(name)) {
    const b = bytes(heap.shared);
    let inst: unknown = null;
    try {
      if (WebAssembly.validate(b)) inst = instantiateKernel(b, heap.memory);
    } catch {
      inst = null;
    }
    byName.set(name, inst);
  }
  return byName.get(name) as T | null;
}

/**
 * A backend's heap and a kernel module on it (moduleOnHeap), or null: not the wasm backend, no SIMD,
 * or a tfjs-backend-wasm build heapOf does not know.
 */
export function kernelOnBackend<T>(
  backend: unknown,
  name: string,
  bytes: (shared: boolean) => Uint8Array<ArrayBuffer>,
): { be: WasmBackendLike; K: T } | null {
  const heap = heapOf(backend);
  const K = heap && moduleOnHeap<T>(heap, name, bytes);
  return heap && K ? { be: heap.be, K } : null;
}
