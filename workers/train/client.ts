/**
 * The page's handle on workers/train/train.worker.ts: one worker at a time, commands out, events to
 * listeners. startWorker(backend, model) replaces the worker (switching backend or model reloads it).
 */
import type { BackendName, WorkerCommand, WorkerEvent } from './protocol';
import type { ModelSpec } from '../../src/lib/formats/model-spec';
import { describeWorkerError } from '../host/crash';
import { recordTensors } from '../host/debug';

type Listener = (e: WorkerEvent) => void;

const listeners = new Set<Listener>();
let worker: Worker | null = null;

function emit(e: WorkerEvent) {
  for (const l of listeners) l(e);
}

export function onWorkerEvent(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function send(cmd: WorkerCommand): void {
  if (!worker) throw new Error('training worker is not running');
  worker.postMessage(cmd);
}

/** (Re)starts the worker and sends init. Errors the worker cannot report itself become error events. */
export function startWorker(backend?: BackendName, model?: ModelSpec): void {
  worker?.terminate();
  worker = new Worker(new URL('./train.worker.ts', import.meta.url), { type: 'module', name: 'train' });
  worker.onmessage = (ev: MessageEvent<WorkerEvent>) => {
    if (ev.data.type === 'error') console.error(`[worker] ${ev.data.message}`);
    else if (ev.data.type === 'progress') recordTensors('train', ev.data.tensors);
    emit(ev.data);
  };
  worker.onerror = (ev) => {
    ev.preventDefault();
    const message = describeWorkerError(ev, 'training worker');
    console.error(`[worker] ${message}`);
    emit({ type: 'error', message, fatal: true });
  };
  worker.onmessageerror = () => emit({ type: 'error', message: 'a worker message could not be read' });
  worker.postMessage({ type: 'init', backend, model } satisfies WorkerCommand);
}
