/**
 * Training runs for the views: stored records (RunStore), the live run's progress and per-step
 * metrics as the worker streams them, and commands (start, pause, resume, stop).
 */
import { get, writable } from 'svelte/store';
import { RunStore, newRunId, type RunRecord } from '../../lib/store/runs';
import type { StepMetrics, TrainConfig } from '../../lib/train/types';
import type { ProgressEvent } from '../../../workers/train/protocol';
import { onWorkerEvent, send } from './worker';
import { reportError } from './errors';

export const runStore = new RunStore();

export const runs = writable<RunRecord[]>([]);
/** progress of the run the worker holds (null before any run in this page) */
export const live = writable<ProgressEvent | null>(null);
/** metrics of the run shown in the charts (the live run) */
export const liveMetrics = writable<StepMetrics[]>([]);
export const lastCheckpoint = writable<{ runId: string; step: number } | null>(null);

export async function refreshRuns(): Promise<RunRecord[]> {
  const list = await runStore.list();
  runs.set(list);
  return list;
}

onWorkerEvent((e) => {
  switch (e.type) {
    case 'log':
      if (e.history && e.runId) liveMetrics.set([...e.history]);
      if (e.level === 'warn') console.warn(e.message);
      break;
    case 'metrics':
      if (get(live)?.runId === e.runId || get(live) === null) liveMetrics.update((m) => [...m, e.metrics]);
      break;
    case 'progress': {
      const prev = get(live);
      live.set(e);
      if (!prev || prev.phase !== e.phase || prev.runId !== e.runId) void refreshRuns();
      break;
    }
    case 'checkpoint':
      lastCheckpoint.set({ runId: e.runId, step: e.step });
      void refreshRuns();
      break;
    case 'done':
      if (e.what === 'train') void refreshRuns();
      break;
    case 'error':
      if (e.runId !== undefined || (!e.requestId && !e.fatal)) reportError(e.message);
      break;
  }
});

export function startRun(name: string, datasetId: string, config: TrainConfig): string {
  const runId = newRunId();
  liveMetrics.set([]);
  live.set({ type: 'progress', runId, phase: 'running', step: 0, total: config.steps, tokensPerS: 0, etaS: null });
  send({ type: 'start', runId, name, datasetId, config });
  return runId;
}

export const pauseRun = () => send({ type: 'pause' });
export const stopRun = () => send({ type: 'stop' });

/** Continues the paused live run, or resumes a stored run from its last checkpoint. */
export function resumeRun(runId?: string): void {
  const cur = get(live);
  if (runId && cur?.runId !== runId) {
    liveMetrics.set([]);
    live.set(null);
  }
  send({ type: 'resume', runId });
}

export async function deleteRun(id: string): Promise<void> {
  await runStore.delete(id);
  await refreshRuns();
}
