/**
 * Training runs for the views: stored records (RunStore), the live run's progress and per-step
 * metrics as the worker streams them, and commands (start, pause, resume, stop). A run that trains
 * holds the page's job slot (jobs.svelte.ts) from start or resume until it pauses, stops, ends or fails.
 * Across tabs (run-presence.svelte.ts): a run is claimed before it starts or resumes (refused when
 * another tab has it open or trains on the same device), and its progress is shared with the other tabs.
 */
import { RunStore, newRunId, type RunRecord } from '../../lib/store/runs';
import type { StepMetrics, TrainConfig } from '../../lib/train/types';
import type { ProgressEvent } from '../../../workers/train/protocol';
import { onWorkerEvent, send } from './worker';
import { clearErrors, reportError } from './errors.svelte';
import { finishJob, startJob } from './jobs.svelte';
import { backendState } from './backend.svelte';
import { claimTraining, letRunGo, onElsewhereChange, shareProgress, syncPresence } from './run-presence.svelte';

export const runStore = new RunStore();

/** the error banner's key for errors about a run */
export const runKey = (runId: string) => `run:${runId}`;

class RunsState {
  /** stored runs, as last listed */
  list = $state.raw<RunRecord[]>([]);
  /** progress of the run the worker holds (null before any run in this page) */
  live = $state.raw<ProgressEvent | null>(null);
  /** metrics of the run shown in the charts (the live run) */
  liveMetrics = $state.raw<StepMetrics[]>([]);
  lastCheckpoint = $state.raw<{ runId: string; step: number } | null>(null);
  /** Stop was asked while a step runs: the worker stops once that step is done */
  stopping = $state(false);
}

export const runs = new RunsState();

/** the job-slot ticket of the training run (null when no run trains) */
let ticket: number | null = null;
/** the last progress the worker itself sent (the page's own placeholder at start is not one) */
let lastReported: ProgressEvent | null = null;
/** the run a start or resume was sent for, until the worker reports a phase for it */
let awaiting: string | null = null;
/** the live run's name, for the other tabs */
let liveName = '';

/** the backend this tab trains on now (its device lock is the one claimed) */
const backendNow = () => backendState.info?.backend ?? backendState.forced ?? 'cpu';

function releaseSlot(): void {
  if (ticket !== null) finishJob(ticket);
  ticket = null;
}

export async function refreshRuns(): Promise<RunRecord[]> {
  const [list] = await Promise.all([runStore.list(), syncPresence().catch(() => undefined)]);
  runs.list = list;
  return list;
}

// another tab opened, paused or let go of a run: list the stored state again
onElsewhereChange(() => void refreshRuns());

onWorkerEvent((e) => {
  switch (e.type) {
    case 'ready':
      // a new worker (backend or model switch): a paused run stays live (its checkpoint is stored, and
      // resume or stop name it to the new worker); a run that was taking steps there is gone with it
      if (runs.live?.phase === 'running') {
        letRunGo(runs.live.runId);
        awaiting = null;
        runs.live = null;
        runs.stopping = false;
        releaseSlot();
        void refreshRuns();
      }
      break;
    case 'log':
      if (e.history && e.runId) {
        runs.liveMetrics = [...e.history];
        // sent once the worker has stored the run (new or resumed): list it now, not at its first checkpoint
        void refreshRuns();
      }
      if (e.level === 'warn') console.warn(e.message);
      break;
    case 'metrics':
      if (runs.live?.runId === e.runId || runs.live === null) runs.liveMetrics = [...runs.liveMetrics, e.metrics];
      break;
    case 'progress': {
      const prev = lastReported;
      lastReported = e;
      runs.live = e;
      shareProgress(e, liveName, backendNow());
      if (awaiting === e.runId) awaiting = null;
      // the run trains (started, resumed after a refusal): what was reported about it is fixed
      if (e.phase === 'running') clearErrors(runKey(e.runId));
      if (e.phase !== 'running') {
        runs.stopping = false;
        releaseSlot();
      }
      if (!prev || prev.phase !== e.phase || prev.runId !== e.runId) void refreshRuns();
      break;
    }
    case 'checkpoint':
      runs.lastCheckpoint = { runId: e.runId, step: e.step };
      void refreshRuns();
      break;
    case 'done':
      if (e.what === 'train') void refreshRuns();
      break;
    case 'error':
      if (e.runId !== undefined || (!e.requestId && !e.fatal))
        reportError(e.message, e.runId ? runKey(e.runId) : undefined);
      if (e.fatal || (e.runId !== undefined && e.runId === awaiting)) {
        // the worker crashed, or refused a start/resume before reporting any phase: nothing trains
        if (!e.fatal && runs.live?.runId === awaiting && runs.live !== lastReported) runs.live = null;
        if (awaiting !== null) letRunGo(awaiting);
        if (e.fatal && runs.live) letRunGo(runs.live.runId);
        awaiting = null;
        runs.stopping = false;
        releaseSlot();
      }
      break;
  }
});

/** Takes the job slot for training (throws, naming the running job, when it is taken). */
function takeSlot(label: string): void {
  if (ticket !== null) return; // the live run already holds it
  ticket = startJob('training', label);
}

/** Claims the run and this tab's device for training (releasing the slot when another tab holds either). */
async function claim(runId: string, name: string): Promise<void> {
  try {
    await claimTraining(runId, name, backendNow());
  } catch (err) {
    releaseSlot();
    throw err;
  }
}

export async function startRun(name: string, datasetId: string, config: TrainConfig): Promise<string> {
  takeSlot(name);
  const runId = newRunId();
  await claim(runId, name);
  // a paused run the worker drops for this one is no longer open in this tab
  if (runs.live && runs.live.phase === 'paused') letRunGo(runs.live.runId);
  liveName = name;
  awaiting = runId;
  runs.liveMetrics = [];
  runs.stopping = false;
  runs.live = { type: 'progress', runId, phase: 'running', step: 0, total: config.steps, tokensPerS: 0, etaS: null };
  try {
    send({ type: 'start', runId, name, datasetId, config });
  } catch (err) {
    awaiting = null;
    runs.live = null;
    letRunGo(runId);
    releaseSlot();
    throw err;
  }
  return runId;
}

export const pauseRun = () => send({ type: 'pause' });

export function stopRun(): void {
  // a paused run stops at once; a running one finishes the step it is in first
  if (runs.live?.phase === 'running') runs.stopping = true;
  send({ type: 'stop', runId: runs.live?.runId });
}

/**
 * Continues the paused live run, or resumes a stored run from its last checkpoint. The run is always
 * named: a worker that does not hold it (replaced by a backend switch) rebuilds it from its checkpoint.
 */
export async function resumeRun(runId?: string): Promise<void> {
  const cur = runs.live;
  const id = runId ?? cur?.runId;
  const name = runs.list.find((r) => r.id === id)?.name ?? id ?? '';
  takeSlot(name);
  if (id) await claim(id, name);
  if (cur && cur.runId !== id && cur.phase === 'paused') letRunGo(cur.runId);
  liveName = name;
  if (runId && cur?.runId !== runId) {
    runs.liveMetrics = [];
    runs.live = null;
  }
  awaiting = id ?? null;
  try {
    send({ type: 'resume', runId: id });
  } catch (err) {
    awaiting = null;
    if (id) letRunGo(id);
    releaseSlot();
    throw err;
  }
}

export async function deleteRun(id: string): Promise<void> {
  await runStore.delete(id);
  clearErrors(runKey(id));
  await refreshRuns();
}
