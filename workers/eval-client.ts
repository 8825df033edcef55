/**
 * The page's handle on workers/eval.worker.ts: started on first use, one job at a time.
 *
 *   const r = await evaluateInWorker({...}, (p) => progress = p);   // EvalResultEvent
 *   cancelEvalJob();                                                // rejects the pending job with {cancelled: true}
 */
import type {
  EvalBackendName, EvalCommand, EvalEvent, EvalGenerateCommand, EvalGenerationEvent, EvalProgressEvent, EvalResultEvent, EvalRetentionCommand,
  EvalRetentionEvent, EvalStartCommand,
} from './eval-protocol';

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
let backendReady: Promise<string> | null = null;
let resolveReady: ((b: string) => void) | null = null;
let seq = 0;

function onEvent(e: EvalEvent): void {
  switch (e.type) {
    case 'ready':
      resolveReady?.(e.backend);
      return;
    case 'progress':
      if (pending?.jobId === e.jobId) pending.onProgress?.(e);
      return;
    case 'result':
    case 'generation':
    case 'retention-result':
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

function ensureWorker(backend?: EvalBackendName): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./eval.worker.ts', import.meta.url), { type: 'module', name: 'eval' });
  w.onmessage = (ev: MessageEvent<EvalEvent>) => onEvent(ev.data);
  w.onerror = (ev) => {
    ev.preventDefault();
    onEvent({ type: 'error', message: `evaluation worker crashed: ${ev.message || 'unknown error'}`, fatal: true });
  };
  backendReady = new Promise((r) => (resolveReady = r));
  w.postMessage({ type: 'init', backend } satisfies EvalCommand);
  worker = w;
  return w;
}

/** The backend the evaluation worker runs on, once it is ready. */
export function evalBackend(): Promise<string> | null {
  return backendReady;
}

function submit<T extends JobResult>(
  cmd: Omit<EvalStartCommand, 'jobId'> | Omit<EvalGenerateCommand, 'jobId'> | Omit<EvalRetentionCommand, 'jobId'>,
  onProgress?: (p: EvalProgressEvent) => void,
  backend?: EvalBackendName,
): Promise<T> {
  if (pending) return Promise.reject(new EvalJobError('an evaluation job is already running', false));
  const w = ensureWorker(backend);
  const jobId = `job-${Date.now().toString(36)}-${++seq}`;
  return new Promise<T>((resolve, reject) => {
    pending = { jobId, resolve: resolve as Pending['resolve'], reject, onProgress };
    w.postMessage({ ...cmd, jobId } as EvalCommand);
  });
}

export function evaluateInWorker(cmd: Omit<EvalStartCommand, 'jobId' | 'type'>, onProgress?: (p: EvalProgressEvent) => void, backend?: EvalBackendName): Promise<EvalResultEvent> {
  return submit<EvalResultEvent>({ type: 'evaluate', ...cmd }, onProgress, backend);
}

export function generateInWorker(cmd: Omit<EvalGenerateCommand, 'jobId' | 'type'>, onProgress?: (p: EvalProgressEvent) => void, backend?: EvalBackendName): Promise<EvalGenerationEvent> {
  return submit<EvalGenerationEvent>({ type: 'generate', ...cmd }, onProgress, backend);
}

/** Held-out perplexity and/or language fidelity of the base model or a run's adapter. */
export function retentionInWorker(cmd: Omit<EvalRetentionCommand, 'jobId' | 'type'>, onProgress?: (p: EvalProgressEvent) => void, backend?: EvalBackendName): Promise<EvalRetentionEvent> {
  return submit<EvalRetentionEvent>({ type: 'retention', ...cmd }, onProgress, backend);
}

export function cancelEvalJob(): void {
  if (pending && worker) worker.postMessage({ type: 'cancel', jobId: pending.jobId } satisfies EvalCommand);
}

export function evalJobRunning(): boolean {
  return pending !== null;
}
