/**
 * Live bytes of the wasm backend's buffers, counted once per buffer. tf.memory().numBytes and
 * tf.profile's peakBytes count every tensor object, so a reshape or a kept clone that shares its
 * input's buffer (the wasm backend shares them) counts the same bytes again; this counts what is
 * allocated in the heap: it wraps the backend's `move` (every allocation) and `disposeData` (a free
 * when the buffer's last reference goes).
 *   const t = trackWasmBuffers(); t.reset(); await step(); t.peak   // bytes
 */
import * as tf from '@tensorflow/tfjs';

interface WasmBackendLike {
  move(dataId: object, values: unknown, shape: number[], dtype: string, refCount: number): void;
  disposeData(dataId: object, force?: boolean): boolean;
  dataIdMap: { has(id: object): boolean };
}

export interface BufferTracker {
  /** bytes allocated now */
  readonly live: number;
  /** the most allocated at once since the last reset */
  readonly peak: number;
  /** start a new peak from the bytes allocated now */
  reset(): void;
}

export function trackWasmBuffers(): BufferTracker {
  const be = tf.backend() as unknown as WasmBackendLike;
  if (tf.getBackend() !== 'wasm') throw new Error('trackWasmBuffers: the backend is not wasm');
  const sizes = new WeakMap<object, number>();
  const state = { live: 0, peak: 0 };
  const move = be.move.bind(be);
  be.move = (dataId, values, shape, dtype, refCount) => {
    move(dataId, values, shape, dtype, refCount);
    if (dtype === 'string') return;
    const bytes = shape.reduce((a, b) => a * b, 1) * (dtype === 'complex64' ? 8 : 4);
    sizes.set(dataId, bytes);
    state.live += bytes;
    state.peak = Math.max(state.peak, state.live);
  };
  const dispose = be.disposeData.bind(be);
  be.disposeData = (dataId, force) => {
    const had = be.dataIdMap.has(dataId);
    const freed = dispose(dataId, force);
    if (had && !be.dataIdMap.has(dataId)) state.live -= sizes.get(dataId) ?? 0;
    return freed;
  };
  return {
    get live() {
      return state.live;
    },
    get peak() {
      return state.peak;
    },
    reset() {
      state.peak = state.live;
    },
  };
}
