/**
 * The page's handle on workers/vocab/vocab.worker.ts: started on first use, one job at a time. The
 * worker boots on the backend the header forced (a change replaces the worker, cancelling a job);
 * each job names the base model it extends.
 *
 *   configureVocabWorker('wasm');
 *   const s = await extendInWorker({ model, settings, sample, heldout: 20 }, (p) => (progress = p));
 *   const c = await compareInWorker({ model, settings, steps: 40, heldout: 20 }, onProgress, onCurve);
 *   cancelVocabJob();            // the pending job rejects with {cancelled: true}
 */
import type { BackendName } from '../../src/lib/backend/order';
import { describeWorkerError } from '../host/crash';
import type {
  ExtendSummary,
  VocabCommand,
  VocabCompareCommand,
  VocabComparedEvent,
  VocabCurveEvent,
  VocabEvent,
  VocabExtendCommand,
  VocabProgressEvent,
  VocabReadyEvent,
} from './protocol';

export class VocabJobError extends Error {
  constructor(
    message: string,
    readonly cancelled: boolean,
  ) {
    super(message);
  }
}

interface Pending {
  jobId: string;
  resolve: (e: VocabEvent) => void;
  reject: (e: VocabJobError) => void;
  onProgress?: (p: VocabProgressEvent) => void;
  onCurve?: (c: VocabCurveEvent) => void;
}

let worker: Worker | null = null;
let pending: Pending | null = null;
let wanted: BackendName | undefined;
let running: BackendName | undefined | null = null;
let seq = 0;
let readyListener: ((r: VocabReadyEvent) => void) | null = null;

/** Called with the worker's ready report (backend actually used). */
export function onVocabReady(fn: (r: VocabReadyEvent) => void): void {
  readyListener = fn;
}

function stopWorker(reason: string): void {
  if (pending) {
    const p = pending;
    pending = null;
    p.reject(new VocabJobError(reason, true));
  }
  worker?.terminate();
  worker = null;
  running = null;
}

/** The backend (null = auto) the vocabulary worker must use; a change replaces a running worker. */
export function configureVocabWorker(backend: BackendName | null | undefined): void {
  wanted = backend ?? undefined;
  if (worker && running !== wanted) stopWorker('the backend changed: the vocabulary worker restarts on the new one');
}

function onEvent(e: VocabEvent): void {
  switch (e.type) {
    case 'ready':
      readyListener?.(e);
      return;
    case 'progress':
      if (pending?.jobId === e.jobId) pending.onProgress?.(e);
      return;
    case 'curve':
      if (pending?.jobId === e.jobId) pending.onCurve?.(e);
      return;
    case 'extended':
    case 'compared':
      if (pending?.jobId === e.jobId) {
        const p = pending;
        pending = null;
        p.resolve(e);
      }
      return;
    case 'error':
      if (pending && (e.jobId === pending.jobId || e.fatal || e.jobId === undefined)) {
        const p = pending;
        pending = null;
        p.reject(new VocabJobError(e.message, !!e.cancelled));
      }
      if (e.fatal) {
        worker?.terminate();
        worker = null;
        running = null;
      }
      return;
  }
}

function ensureWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./vocab.worker.ts', import.meta.url), { type: 'module', name: 'vocab' });
  w.onmessage = (ev: MessageEvent<VocabEvent>) => onEvent(ev.data);
  w.onerror = (ev) => {
    ev.preventDefault();
    const message = describeWorkerError(ev, 'vocabulary worker');
    console.error(`[vocab worker] ${message}`);
    onEvent({ type: 'error', message, fatal: true });
  };
  running = wanted;
  w.postMessage({ type: 'init', backend: wanted } satisfies VocabCommand);
  worker = w;
  return w;
}

function submit<T extends VocabEvent>(
  cmd: Omit<VocabExtendCommand, 'jobId'> | Omit<VocabCompareCommand, 'jobId'>,
  onProgress?: (p: VocabProgressEvent) => void,
  onCurve?: (c: VocabCurveEvent) => void,
): Promise<T> {
  if (pending) return Promise.reject(new VocabJobError('a vocabulary job is already running', false));
  const w = ensureWorker();
  const jobId = `vocab-${Date.now().toString(36)}-${++seq}`;
  return new Promise<T>((resolve, reject) => {
    pending = { jobId, resolve: resolve as Pending['resolve'], reject, onProgress, onCurve };
    w.postMessage({ ...cmd, jobId } as VocabCommand);
  });
}

export async function extendInWorker(
  cmd: Omit<VocabExtendCommand, 'jobId' | 'type'>,
  onProgress?: (p: VocabProgressEvent) => void,
): Promise<ExtendSummary> {
  const e = await submit<{ type: 'extended'; jobId: string; summary: ExtendSummary }>(
    { type: 'extend', ...cmd },
    onProgress,
  );
  return e.summary;
}

export function compareInWorker(
  cmd: Omit<VocabCompareCommand, 'jobId' | 'type'>,
  onProgress?: (p: VocabProgressEvent) => void,
  onCurve?: (c: VocabCurveEvent) => void,
): Promise<VocabComparedEvent> {
  return submit<VocabComparedEvent>({ type: 'compare', ...cmd }, onProgress, onCurve);
}

export function cancelVocabJob(): void {
  if (pending && worker) worker.postMessage({ type: 'cancel', jobId: pending.jobId } satisfies VocabCommand);
}

export function vocabJobRunning(): boolean {
  return pending !== null;
}
