/**
 * The page's handle on workers/eval/eval.worker.ts: started on first use, one job at a time, on the
 * backend and model set by configureEvalWorker (the page calls it whenever the header's backend or
 * the Model view's model changes; a change replaces the worker, cancelling a running job).
 * The worker lifecycle is workers/host/job-client.ts's, shared with the vocabulary worker.
 *
 *   configureEvalWorker({ backend: 'wasm', model: spec });
 *   const r = await evaluateInWorker({...}, (p) => progress = p);   // EvalResultEvent
 *   cancelEvalJob();                                                // rejects the pending job with {cancelled: true}
 */
import type { ModelSpec } from '../../src/lib/formats/model-spec';
import { specKey } from '../../src/lib/formats/model-spec';
import { recordTensors } from '../host/debug';
import { JobClient, WorkerJobError } from '../host/job-client';
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

export { WorkerJobError as EvalJobError };

interface Settings {
  backend?: EvalBackendName;
  model?: ModelSpec;
}

const jobs = new JobClient<EvalCommand, EvalEvent, Settings>(
  {
    name: 'evaluation worker',
    jobPrefix: 'job',
    create: () => new Worker(new URL('./eval.worker.ts', import.meta.url), { type: 'module', name: 'eval' }),
    init: (s) => ({ type: 'init', backend: s.backend, model: s.model }),
    results: ['result', 'generation', 'retention-result'],
    key: (s) => `${s.backend ?? 'auto'}|${s.model ? specKey(s.model) : 'embedded'}`,
    cancel: (jobId) => ({ type: 'cancel', jobId }),
    onResult: (e) => recordTensors('eval', (e as EvalResultEvent).tensors),
  },
  {},
);

/**
 * The backend (null = auto) and model the evaluation worker must use. A change from what the
 * running worker booted with replaces it (a running job ends cancelled, saying why).
 */
export function configureEvalWorker(next: { backend?: EvalBackendName | null; model?: ModelSpec | null }): void {
  jobs.configure(
    { backend: next.backend ?? undefined, model: next.model ?? undefined },
    'the backend or model changed',
  );
}

/** The evaluation worker's ready report (backend actually used, why, threads, model), once booted. */
export function evalReady(): Promise<EvalReadyEvent> | null {
  return jobs.readyReport() as Promise<EvalReadyEvent> | null;
}

/** Boots the evaluation worker now (it otherwise starts with its first job). */
export function warmEvalWorker(): Promise<EvalReadyEvent> {
  return jobs.warm() as Promise<EvalReadyEvent>;
}

function submit<T extends EvalEvent>(
  cmd: Omit<EvalStartCommand, 'jobId'> | Omit<EvalGenerateCommand, 'jobId'> | Omit<EvalRetentionCommand, 'jobId'>,
  onProgress?: (p: EvalProgressEvent) => void,
  backend?: EvalBackendName,
): Promise<T> {
  if (backend !== undefined && backend !== jobs.settings.backend && !jobs.busy)
    configureEvalWorker({ ...jobs.settings, backend });
  return jobs.submit<T>(cmd, { onProgress: onProgress as (e: EvalEvent) => void });
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
  jobs.cancel();
}

export function evalJobRunning(): boolean {
  return jobs.busy;
}
