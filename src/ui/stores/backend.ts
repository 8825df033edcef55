/** Backend/model state reported by the worker's `ready` event, shown in the header and Model view. */
import { writable } from 'svelte/store';
import type { BackendName, ReadyEvent } from '../../../workers/protocol';
import { onWorkerEvent, startWorker } from './worker';

export interface BackendState {
  status: 'starting' | 'ready' | 'error';
  info: ReadyEvent | null;
  /** backend the user forced, if any */
  forced: BackendName | null;
  error: string | null;
}

export const backendState = writable<BackendState>({ status: 'starting', info: null, forced: null, error: null });

onWorkerEvent((e) => {
  if (e.type === 'ready') backendState.update((s) => ({ ...s, status: 'ready', info: e, error: null }));
  else if (e.type === 'error' && e.fatal) backendState.update((s) => ({ ...s, status: 'error', error: e.message }));
});

/** Starts the worker on the first backend that works, or on `forced`. */
export function bootBackend(forced: BackendName | null = null): void {
  backendState.set({ status: 'starting', info: null, forced, error: null });
  startWorker(forced ?? undefined);
}
