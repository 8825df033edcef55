/**
 * Training runs for the views: stored records (RunStore), the live run's progress and per-step
 * metrics as the train job streams them (trainJobs in workers/host/registry.ts), and commands: start
 * and resume call the `train` job, pause and stop abort its signal (a paused run stops with the `stop`
 * job). A run that trains holds the page's job slot (jobs.svelte.ts) from start or resume until it
 * pauses, stops, ends or fails. Across tabs (run-presence.svelte.ts): a run is claimed before it starts
 * or resumes (refused when another tab has it open or trains on the same device), and its progress is
 * shared with the other tabs.
 */
import { RunStore, newRunId, type RunRecord } from '../../lib/store/runs';
import type { StepMetrics, TrainConfig } from '../../lib/train/types';
import type { ProgressEvent, TrainArgs, WorkerEvent } from '../../../workers/train/protocol';
import { trainJobs } from '../../../workers/host/registry';
import { JobError } from '../../../workers/host/job-worker';
import { recordTensors } from '../../../workers/host/debug';
import { clearErrors, reportError } from './errors.svelte';
import { finishJob, onRestart, startJob } from './jobs.svelte';
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
/** the live train job's pause/stop (its call's signal) */
let controller: AbortController | null = null;

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

trainJobs.onError((message, fatal) => {
  if (!fatal) reportError(message);
});

/** The live run's events (the train job's progress). */
function onRunEvent(e: WorkerEvent): void {
  switch (e.type) {
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
      recordTensors('train', e.tensors);
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
    case 'measure':
      backendState.measuring = { backend: e.backend, step: e.step, of: e.of };
      break;
    case 'backend':
      // "auto" picked the run's backend (measured or kept): the header shows it and the figures
      backendState.info = e.ready;
      backendState.measuring = null;
      break;
    case 'error':
      console.error(`[worker] ${e.message}`);
      reportError(e.message, e.runId ? runKey(e.runId) : undefined);
      break;
  }
}

/** Runs the train job until the run pauses, stops, ends or fails; a refusal or crash frees the slot. */
function train(args: TrainArgs, runId: string, name: string): void {
  const ctl = new AbortController();
  controller = ctl;
  trainJobs
    .call('train', args, {
      onProgress: onRunEvent,
      signal: ctl.signal,
      record: { what: 'training', label: `Training ${name}`, request: runId },
    })
    .catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      if (!(err instanceof JobError && err.cancelled)) {
        console.error(`[worker] ${message}`);
        reportError(message, runKey(runId));
      }
      // refused before reporting any phase: nothing trains
      if (runs.live?.runId === awaiting && runs.live !== lastReported) runs.live = null;
      // the worker went away (a backend or model switch, a crash) while the run took steps: the run is gone
      // with it (the list shows it interrupted; Resume continues from its last checkpoint)
      if (runs.live?.runId === runId && runs.live.phase === 'running') runs.live = null;
      // no longer open in this tab (a paused run stays open: resume or stop name it to the next worker)
      if (!(runs.live?.runId === runId && runs.live.phase === 'paused')) letRunGo(runId);
    })
    .finally(() => {
      if (controller === ctl) controller = null;
      if (awaiting === runId) awaiting = null;
      runs.stopping = false;
      backendState.measuring = null;
      releaseSlot();
      void refreshRuns();
    });
}

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
  train({ start: { runId, name, datasetId, config } }, runId, name);
  return runId;
}

/** Pauses the live run after the step in flight (it checkpoints; resume continues it). */
export const pauseRun = () => controller?.abort('pause');

export function stopRun(): void {
  // a paused run stops at once; a running one finishes the step it is in first
  if (controller) {
    runs.stopping = true;
    controller.abort('stop');
  } else {
    // the paused run is named: a worker that does not hold it (replaced by a backend switch) stops the stored run
    const runId = runs.live?.runId;
    trainJobs.call('stop', runId ? { runId } : null, { onProgress: onRunEvent }).catch((err: unknown) => {
      reportError(err instanceof Error ? err.message : String(err));
    });
  }
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
  if (!id) {
    releaseSlot();
    throw new Error('nothing to resume');
  }
  awaiting = id;
  train({ resume: id }, id, name);
}

// after a reload, a run that was training resumes from its last checkpoint
onRestart('training', (runId) => resumeRun(runId as string));

export async function deleteRun(id: string): Promise<void> {
  await runStore.delete(id);
  clearErrors(runKey(id));
  await refreshRuns();
}
