/**
 * Experiments view state: the experiment worker (workers/experiment/experiment.worker.ts), the
 * overall progress, and the stored experiments (IndexedDB, kvExperimentStore). An experiment left
 * "running" by a reload is resumed by resumeInterrupted() (the worker continues the arm it was in
 * from its last checkpoint).
 */
import { applyOverrides } from '../../lib/experiment/overrides';
import { describeWorkerError } from '../../../workers/host/crash';
import { idbStore } from '../../lib/store/idb';
import { kvExperimentStore } from '../../lib/store/experiments';
import type { ExperimentProgress, ExperimentState } from '../../lib/experiment/runner';
import type { Recipe } from '../../lib/experiment/recipe';
import type { ExperimentCommand, ExperimentEvent } from '../../../workers/experiment/protocol';
import { rememberedBackend } from './backend.svelte';
import { JobBusyError, finishJob, startJob, updateJob } from './jobs.svelte';
import { reportError } from './errors.svelte';

export const experimentStore = kvExperimentStore(idbStore());

class ExperimentsUi {
  running = $state<string | null>(null);
  progress = $state<ExperimentProgress | null>(null);
  log = $state<string[]>([]);
  error = $state<string | null>(null);
  backend = $state<string | null>(null);
  /** the experiment shown on the report page */
  selected = $state<ExperimentState | null>(null);
  /** the recipe picked in the Experiments view (other views may pick one and open it) */
  recipeName = $state('first-experiment');
  /** the view's run-time overrides (empty: the recipe's own budget and limits) */
  steps = $state<number | null>(null);
  evalLimit = $state<number | null>(null);
  list = $state<ExperimentState[]>([]);
}

export const ui = new ExperimentsUi();

let worker: Worker | null = null;
/** the job-slot ticket of the running experiment */
let ticket: number | null = null;
let armShown: string | null = null;

function releaseSlot(): void {
  if (ticket !== null) finishJob(ticket);
  ticket = null;
}

function onEvent(e: ExperimentEvent): void {
  switch (e.type) {
    case 'ready':
      ui.backend = e.backend;
      return;
    case 'progress':
      ui.progress = e.progress;
      if (ticket !== null && ui.running && e.progress.arm !== armShown) {
        armShown = e.progress.arm;
        updateJob(ticket, `${ui.running}${armShown ? ` · arm ${armShown}` : ''}`);
      }
      return;
    case 'log':
      ui.log = [...ui.log.slice(-20), e.message];
      return;
    case 'saved':
      void show(e.id);
      return;
    case 'done':
    case 'cancelled':
      ui.running = null;
      releaseSlot();
      if (e.type === 'cancelled') ui.log = [...ui.log, 'cancelled'];
      void refresh().then(() => show(e.id));
      return;
    case 'error':
      ui.running = null;
      releaseSlot();
      ui.error = e.message;
      void refresh();
      return;
  }
}

function ensureWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('../../../workers/experiment/experiment.worker.ts', import.meta.url), {
    type: 'module',
    name: 'experiment',
  });
  w.onmessage = (ev: MessageEvent<ExperimentEvent>) => onEvent(ev.data);
  w.onerror = (ev) => {
    ev.preventDefault();
    onEvent({ type: 'error', message: describeWorkerError(ev, 'experiment worker') });
    worker = null;
  };
  worker = w;
  return w;
}

export async function refresh(): Promise<void> {
  const ids = await experimentStore.list();
  const states = await Promise.all(ids.map((id) => experimentStore.get<ExperimentState>(id, 'state')));
  ui.list = states.filter((s): s is ExperimentState => !!s).sort((a, b) => b.startedAt - a.startedAt);
}

export async function show(id: string): Promise<void> {
  ui.selected = (await experimentStore.get<ExperimentState>(id, 'state')) ?? null;
}

/**
 * Starts a new experiment (or resumes `id`); returns its id, or null when another long job holds the
 * job slot (said in the error banner).
 */
/** Starts the recipe with the view's overrides (steps per arm, evaluation cap) applied. */
export function startWithOverrides(recipe: Recipe): string | null {
  return start(applyOverrides(recipe, { steps: ui.steps ?? undefined, evalLimit: ui.evalLimit ?? undefined }));
}

export function start(recipe: Recipe, id = `${recipe.name}-${Date.now().toString(36)}`): string | null {
  if (ui.running) throw new Error('an experiment is already running');
  try {
    ticket = startJob('experiment', id);
  } catch (err) {
    if (!(err instanceof JobBusyError)) throw err;
    reportError(err);
    return null;
  }
  armShown = null;
  ui.error = null;
  ui.progress = null;
  ui.log = [];
  ui.running = id;
  // a recipe read back from the reactive list is a $state proxy, which postMessage cannot clone
  ensureWorker().postMessage({
    type: 'start',
    id,
    recipe: $state.snapshot(recipe) as Recipe,
    backend: rememberedBackend(),
  } satisfies ExperimentCommand);
  void show(id);
  return id;
}

export function cancel(): void {
  worker?.postMessage({ type: 'cancel' } satisfies ExperimentCommand);
}

/** After a reload: resume the experiment that was running. */
export async function resumeInterrupted(): Promise<string | null> {
  await refresh();
  if (ui.running) return null;
  const s = ui.list.find((x) => x.status === 'running');
  if (!s) return null;
  ui.log = [`resuming ${s.recipe.name}${s.current ? ` in arm ${s.current}` : ''}`];
  if (start(s.recipe, s.id) === null) return null;
  ui.log = [`resuming ${s.recipe.name}${s.current ? ` in arm ${s.current}` : ''}`];
  return s.id;
}

export async function remove(id: string): Promise<void> {
  for (const k of [
    'state',
    ...(ui.list.find((s) => s.id === id)?.recipe.arms ?? []).flatMap((a) => [`ckpt/${a.id}`, `full/${a.id}`]),
  ])
    await experimentStore.del(id, k);
  if (ui.selected?.id === id) ui.selected = null;
  await refresh();
}
