/**
 * The page's handle on workers/eval/eval.worker.ts: started on first use, one job at a time, on the
 * backend and model set by configureEvalWorker (the page calls it whenever the header's backend or
 * the Model view's model changes; a change replaces the worker, cancelling a running job).
 *
 *   configureEvalWorker({ backend: 'wasm', model: spec });
 *   const r = await evaluateInWorker({...}, (p) => progress = p);   // EvalResultEvent
 *   cancelEvalJob();                                                // rejects the pending job with {cancelled: true}
 */
import type { ModelSpec } from '../../src/lib/formats/model-spec';
import { specKey } from '../../src/lib/formats/model-spec';
import { describeWorkerError } from '../host/crash';
import { recordTensors } from '../host/debug';
import type {
  EvalBackendName,
  EvalCommand,
  EvalReadyEvent,
  EvalEvent,
  EvalGenerateCommand,
  EvalGenerationEvent,
  EvalProgressEvent,
  EvalResultEvent,
  EvalRetentionCommand,
  EvalRetentionEvent,
  EvalStartCommand,
} from './protocol';

type JobResult = EvalResultEvent | EvalGenerationEvent | EvalRetentionEvent;

export class EvalJobError extends Error {
  constructor(
    message: string,
    readonly cancelled: boolean,
  ) {
    super(message);
  }
}

interface Pending {
  jobId: string;
  resolve: (e: JobResult) => void;
  reject: (e: EvalJobError) => void;
  onProgress?: (p: EvalProgressEvent) => void;
}

let worker: Worker | null = null;
let pending: Pending | null = null;
let backendReady: Promise<EvalReadyEvent> | null = null;
let resolveReady: ((r: EvalReadyEvent) => void) | null = null;
let seq = 0;

/** What the next worker boots with; the running worker's own settings. */
let wanted: { backend?: EvalBackendName; model?: ModelSpec } = {};
let running: { backend?: EvalBackendName; model?: ModelSpec } | null = null;
const settingsKey = (c: { backend?: EvalBackendName; model?: ModelSpec }) =>
  `${c.backend ?? 'auto'}|${c.model ? specKey(c.model) : 'embedded'}`;

function stopWorker(reason: string): void {
  if (pending) {
    const p = pending;
    pending = null;
    p.reject(new EvalJobError(reason, true));
  }
  worker?.terminate();
  worker = null;
  backendReady = null;
  running = null;
}

/**
 * The backend (null = auto) and model the evaluation worker must use. A change from what the
 * running worker booted with replaces it (a running job ends cancelled, saying why).
 */
export function configureEvalWorker(next: { backend?: EvalBackendName | null; model?: ModelSpec | null }): void {
  wanted = { backend: next.backend ?? undefined, model: next.model ?? undefined };
  if (running && settingsKey(running) !== settingsKey(wanted))
    stopWorker('the backend or model changed: the evaluation worker restarts on the new one');
}

function onEvent(e: EvalEvent): void {
  switch (e.type) {
    case 'ready':
      resolveReady?.(e);
      return;
    case 'progress':
      if (pending?.jobId === e.jobId) pending.onProgress?.(e);
      return;
    case 'result':
    case 'generation':
    case 'retention-result':
      recordTensors('eval', e.tensors);
      if (pending?.jobId === e.jobId) {
        const p = pending;
        pending = null;
        p.resolve(e);
      }
      return;
    case 'error': {
      if (pending && (e.jobId === pending.jobId || e.fatal || e.jobId === undefined)) {
        const p = pending;
        pending = null;
        p.reject(new EvalJobError(e.message, !!e.cancelled));
      }
      if (e.fatal) {
        worker?.terminate();
        worker = null;
        backendReady = null;
      }
      return;
    }
  }
}

function ensureWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./eval.worker.ts', import.meta.url), { type: 'module', name: 'eval' });
  w.onmessage = (ev: MessageEvent<EvalEvent>) => onEvent(ev.data);
  w.onerror = (ev) => {
    ev.preventDefault();
    const message = describeWorkerError(ev, 'evaluation worker');
    console.error(`[eval worker] ${message}`);
    onEvent({ type: 'error', message, fatal: true });
  };
  backendReady = new Promise((r) => (resolveReady = r));
  running = { ...wanted };
  w.postMessage({ type: 'init', backend: running.backend, model: running.model } satisfies EvalCommand);
  worker = w;
  return w;
}

/** The evaluation worker's ready report (backend actually used, why, threads, model), once booted. */
export function evalReady(): Promise<EvalReadyEvent> | null {
  return backendReady;
}

/** Boots the evaluation worker now (it otherwise starts with its first job). */
export function warmEvalWorker(): Promise<EvalReadyEvent> {
  ensureWorker();
  return backendReady!;
}

function submit<T extends JobResult>(
  cmd: Omit<EvalStartCommand, 'jobId'> | Omit<EvalGenerateCommand, 'jobId'> | Omit<EvalRetentionCommand, 'jobId'>,
  onProgress?: (p: EvalProgressEvent) => void,
  backend?: EvalBackendName,
): Promise<T> {
  if (pending) return Promise.reject(new EvalJobError('an evaluation job is already running', false));
  if (backend !== undefined && backend !== wanted.backend) configureEvalWorker({ ...wanted, backend });
  const w = ensureWorker();
  const jobId = `job-${Date.now().toString(36)}-${++seq}`;
  return new Promise<T>((resolve, reject) => {
    pending = { jobId, resolve: resolve as Pending['resolve'], reject, onProgress };
    w.postMessage({ ...cmd, jobId } as EvalCommand);
  });
}

export function evaluateInWorker(
  cmd: Omit<EvalStartCommand, 'jobId' | 'type'>,
  onProgress?: (p: EvalProgressEvent) => void,
  backend?: EvalBackendName,
): Promise<EvalResultEvent> {
  return submit<EvalResultEvent>({ type: 'evaluate', ...cmd }, onProgress, backend);
}

export function generateInWorker(
  cmd: Omit<EvalGenerateCommand, 'jobId' | 'type'>,
  onProgress?: (p: EvalProgressEvent) => void,
  backend?: EvalBackendName,
): Promise<EvalGenerationEvent> {
  return submit<EvalGenerationEvent>({ type: 'generate', ...cmd }, onProgress, backend);
}

/** Held-out perplexity and/or language fidelity of the base model or a run's adapter. */
export function retentionInWorker(
  cmd: Omit<EvalRetentionCommand, 'jobId' | 'type'>,
  onProgress?: (p: EvalProgressEvent) => void,
  backend?: EvalBackendName,
): Promise<EvalRetentionEvent> {
  return submit<EvalRetentionEvent>({ type: 'retention', ...cmd }, onProgress, backend);
}

export function cancelEvalJob(): void {
  if (pending && worker) worker.postMessage({ type: 'cancel', jobId: pending.jobId } satisfies EvalCommand);
}

export function evalJobRunning(): boolean {
  return pending !== null;
}
