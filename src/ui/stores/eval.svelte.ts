/**
 * Evaluation state shared by the Evaluate, Compare and Win-rate views, kept outside the components so
 * a job keeps running (and its result is saved) when the user switches tabs. Evaluations and
 * retention measurements run in the page's job slot (jobs.svelte.ts), one job at a time.
 */
import { idbStore } from '../../lib/store/idb';
import {
  EvalResultStore,
  newEvalId,
  type EvalRecord,
  type EvalSubject,
  type RetentionRecord,
} from '../../lib/eval/results-store';
import type { SplitName } from '../../lib/eval/tasks';
import type { EvalBackendName, EvalProgress, EvalTarget } from '../../../workers/eval/protocol';
import { evalJobs } from '../../../workers/host/registry';
import { JobError } from '../../../workers/host/job-worker';
import { backendState } from './backend.svelte';
import { inJobSlot, onRestart } from './jobs.svelte';

export const evalStore = new EvalResultStore(idbStore());

export interface EvalJobState {
  running: boolean;
  label: string;
  progress: EvalProgress | null;
  startedAt: number;
  error: string | null;
  cancelled: boolean;
  lastId: string | null;
}

class EvalState {
  /** stored evaluation results, newest first */
  records = $state.raw<EvalRecord[]>([]);
  /** held-out perplexity / language-fidelity measurements, newest first */
  retention = $state.raw<RetentionRecord[]>([]);
  /** the evaluation or retention job: running, progress, outcome */
  job = $state.raw<EvalJobState>({
    running: false,
    label: '',
    progress: null,
    startedAt: 0,
    error: null,
    cancelled: false,
    lastId: null,
  });
}

export const evals = new EvalState();

export async function refreshEvalRecords(): Promise<EvalRecord[]> {
  const list = await evalStore.list();
  evals.records = list;
  return list;
}

export async function refreshRetentionRecords(): Promise<RetentionRecord[]> {
  const list = await evalStore.listRetention();
  evals.retention = list;
  return list;
}

/** The backend forced in the header, or undefined for auto (the evaluation worker follows it). */
export function sharedBackend(): EvalBackendName | undefined {
  return backendState.forced ?? undefined;
}

/** The running evaluation or retention job's cancel (its call's signal). */
let controller: AbortController | null = null;

export interface EvalRequest {
  subject: EvalSubject;
  label: string;
  tasks: string[];
  shots: number;
  limit: number | null;
  seed: number;
  split?: SplitName;
}

/**
 * Runs one job in the shared evaluation slot (one at a time, common progress, cancel and error
 * state); `work` gets the worker target and a progress callback and returns the saved record.
 */
async function inEvalSlot<T extends { id: string }>(
  kind: 'evaluation' | 'retention',
  label: string,
  subject: EvalSubject,
  markLast: boolean,
  work: (target: EvalTarget, onProgress: (p: EvalProgress) => void, signal: AbortSignal) => Promise<T>,
): Promise<T | null> {
  return inJobSlot(kind, label, async () => {
    const ctl = new AbortController();
    controller = ctl;
    evals.job = {
      running: true,
      label,
      progress: null,
      startedAt: Date.now(),
      error: null,
      cancelled: false,
      lastId: null,
    };
    const target: EvalTarget = subject.kind === 'run' ? { kind: 'run', runId: subject.runId } : { kind: 'base' };
    try {
      const record = await work(target, (p) => (evals.job = { ...evals.job, progress: p }), ctl.signal);
      evals.job = { ...evals.job, running: false, ...(markLast ? { lastId: record.id } : {}) };
      return record;
    } catch (err) {
      const cancelled = err instanceof JobError && err.cancelled;
      evals.job = {
        ...evals.job,
        running: false,
        cancelled,
        error: cancelled ? null : err instanceof Error ? err.message : String(err),
      };
      return null;
    } finally {
      if (controller === ctl) controller = null;
    }
  });
}

/** The subject with the checkpoint step the worker evaluated, and its label. */
function evaluatedAt(
  subject: EvalSubject,
  label: string,
  step: number | null,
): { subject: EvalSubject; label: string } {
  const at: EvalSubject = subject.kind === 'run' ? { ...subject, step } : subject;
  return { subject: at, label: at.kind === 'run' && step !== null ? `${label} @ step ${step}` : label };
}

/** Runs an evaluation in the worker and saves the result; resolves to the saved record (null when cancelled or failed). */
export function runEvaluation(req: EvalRequest): Promise<EvalRecord | null> {
  return inEvalSlot('evaluation', req.label, req.subject, true, async (target, onProgress, signal) => {
    const res = await evalJobs.call(
      'evaluate',
      { target, tasks: req.tasks, shots: req.shots, limit: req.limit, seed: req.seed, split: req.split },
      { onProgress, signal, record: { what: 'evaluation', label: `Evaluation: ${req.label}`, request: req } },
    );
    const record: EvalRecord = {
      id: newEvalId(),
      createdAt: Date.now(),
      ...evaluatedAt(req.subject, req.label, res.step),
      model: res.model,
      backend: res.backend,
      shots: req.shots,
      limit: req.limit,
      seed: req.seed,
      split: req.split,
      ms: res.ms,
      report: res.report,
    };
    await evalStore.save(record);
    await refreshEvalRecords();
    return record;
  });
}

/** Cancels the running evaluation or retention job (an evaluation keeps the tasks it finished). */
export function cancelEvaluation(): void {
  controller?.abort();
}

onRestart('evaluation', (req) => void runEvaluation(req as EvalRequest));
onRestart('retention', (req) => void runRetention(req as RetentionRequest));

export interface RetentionRequest {
  subject: EvalSubject;
  label: string;
  perplexity: boolean;
  fidelity: boolean;
  limit: number | null;
  maxNewTokens: number;
}

/**
 * Runs held-out perplexity and/or language fidelity in the worker (sharing the evaluation job slot,
 * progress and cancel) and saves the result; resolves to the saved record (null when cancelled or failed).
 */
export function runRetention(req: RetentionRequest): Promise<RetentionRecord | null> {
  return inEvalSlot(
    'retention',
    `${req.label} (retention & fidelity)`,
    req.subject,
    false,
    async (target, onProgress, signal) => {
      const res = await evalJobs.call(
        'retention',
        {
          target,
          perplexity: req.perplexity,
          fidelity: req.fidelity,
          limit: req.limit,
          maxNewTokens: req.maxNewTokens,
        },
        { onProgress, signal, record: { what: 'retention', label: `Retention: ${req.label}`, request: req } },
      );
      const record: RetentionRecord = {
        id: newEvalId(),
        createdAt: Date.now(),
        ...evaluatedAt(req.subject, req.label, res.step),
        model: res.model,
        backend: res.backend,
        limit: req.limit,
        maxNewTokens: req.maxNewTokens,
        ms: res.ms,
        perplexity: res.perplexity,
        fidelity: res.fidelity,
      };
      await evalStore.saveRetention(record);
      await refreshRetentionRecords();
      return record;
    },
  );
}
