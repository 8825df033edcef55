/**
 * Experiments view state: the experiment job (experimentJobs in workers/host/registry.ts), the
 * overall progress, and the stored experiments (IndexedDB, kvExperimentStore). An experiment left
 * "running" by a reload is resumed by resumeInterrupted() (the worker continues the arm it was in
 * from its last checkpoint).
 */
import { applyOverrides } from '../../lib/experiment/overrides';
import { idbStore } from '../../lib/store/idb';
import { kvExperimentStore } from '../../lib/store/experiments';
import type { ExperimentProgress, ExperimentState } from '../../lib/experiment/runner';
import type { Recipe } from '../../lib/experiment/recipe';
import type { ExperimentEvent } from '../../../workers/experiment/protocol';
import { experimentJobs } from '../../../workers/host/registry';
import { JobError } from '../../../workers/host/job-worker';
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

/** the job-slot ticket of the running experiment */
let ticket: number | null = null;
let armShown: string | null = null;
/** the running experiment's cancel (its call's signal) */
let controller: AbortController | null = null;

experimentJobs.onReady((r) => (ui.backend = r.backend));

function releaseSlot(): void {
  if (ticket !== null) finishJob(ticket);
  ticket = null;
}

function onEvent(id: string, e: ExperimentEvent): void {
  switch (e.type) {
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
      void show(id);
      return;
  }
}

/** Runs the experiment job to its end (done, cancelled or failed) and frees the slot. */
async function run(id: string, recipe: Recipe): Promise<void> {
  const ctl = new AbortController();
  controller = ctl;
  try {
    experimentJobs.configure({ backend: rememberedBackend() ?? undefined }, 'the backend changed');
    await experimentJobs.call('experiment', { id, recipe }, { onProgress: (e) => onEvent(id, e), signal: ctl.signal });
  } catch (err) {
    if (err instanceof JobError && err.cancelled) ui.log = [...ui.log, 'cancelled'];
    else ui.error = err instanceof Error ? err.message : String(err);
  } finally {
    if (controller === ctl) controller = null;
    ui.running = null;
    releaseSlot();
    void refresh().then(() => show(id));
  }
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
  void run(id, $state.snapshot(recipe) as Recipe);
  void show(id);
  return id;
}

export function cancel(): void {
  controller?.abort();
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
