/**
 * The page's handle on workers/vocab/vocab.worker.ts: started on first use, one job at a time. The
 * worker boots on the backend the header forced (a change replaces the worker, cancelling a job);
 * each job names the base model it extends. The worker lifecycle is workers/host/job-client.ts's,
 * shared with the evaluation worker.
 *
 *   configureVocabWorker('wasm');
 *   const s = await extendInWorker({ model, settings, sample, heldout: 20 }, (p) => (progress = p));
 *   const c = await compareInWorker({ model, settings, steps: 40, heldout: 20 }, onProgress, onCurve);
 *   cancelVocabJob();            // the pending job rejects with {cancelled: true}
 */
import type { BackendName } from '../../src/lib/backend/order';
import { JobClient, WorkerJobError } from '../host/job-client';
import type {
  ExtendSummary,
  VocabCommand,
  VocabCompareCommand,
  VocabComparedEvent,
  VocabCurveEvent,
  VocabEvent,
  VocabExtendCommand,
  VocabExtendedEvent,
  VocabProgressEvent,
  VocabReadyEvent,
} from './protocol';

export { WorkerJobError as VocabJobError };

const jobs = new JobClient<VocabCommand, VocabEvent, BackendName | undefined>(
  {
    name: 'vocabulary worker',
    jobPrefix: 'vocab',
    create: () => new Worker(new URL('./vocab.worker.ts', import.meta.url), { type: 'module', name: 'vocab' }),
    init: (backend) => ({ type: 'init', backend }),
    results: ['extended', 'compared'],
    key: (backend) => backend ?? 'auto',
    cancel: (jobId) => ({ type: 'cancel', jobId }),
  },
  undefined,
);

/** Called with the worker's ready report (backend actually used). */
export function onVocabReady(fn: (r: VocabReadyEvent) => void): void {
  jobs.onReady(fn as (e: VocabEvent) => void);
}

/** The backend (null = auto) the vocabulary worker must use; a change replaces a running worker. */
export function configureVocabWorker(backend: BackendName | null | undefined): void {
  jobs.configure(backend ?? undefined, 'the backend changed');
}

export async function extendInWorker(
  cmd: Omit<VocabExtendCommand, 'jobId' | 'type'>,
  onProgress?: (p: VocabProgressEvent) => void,
): Promise<ExtendSummary> {
  const e = await jobs.submit<VocabExtendedEvent>(
    { type: 'extend', ...cmd },
    { onProgress: onProgress as (e: VocabEvent) => void },
  );
  return e.summary;
}

export function compareInWorker(
  cmd: Omit<VocabCompareCommand, 'jobId' | 'type'>,
  onProgress?: (p: VocabProgressEvent) => void,
  onCurve?: (c: VocabCurveEvent) => void,
): Promise<VocabComparedEvent> {
  return jobs.submit<VocabComparedEvent>(
    { type: 'compare', ...cmd },
    { onProgress: onProgress as (e: VocabEvent) => void, onEvent: onCurve as (e: VocabEvent) => void },
  );
}

export function cancelVocabJob(): void {
  jobs.cancel();
}

export function vocabJobRunning(): boolean {
  return jobs.busy;
}
