/** Backend/model state reported by the worker's `ready` event, shown in the header and Model view. */
import { BACKEND_ORDER, type BackendName, type ReadyEvent } from '../../../workers/train/protocol';
import { onWorkerEvent, startWorker } from './worker';
import { configureEvalWorker } from '../../../workers/eval/client';
import type { ModelSpec } from '../../lib/formats/model-spec';
import type { HfModelSpec } from '../../lib/formats/hf-spec';
import type { UrlProgress } from '../../lib/formats/url-source';

/** A model the page can pick besides the embedded one: a Hugging Face folder/URL or a stored extended model. */
export type PageModel = HfModelSpec | Extract<ModelSpec, { kind: 'stored' }>;

export interface BackendState {
  status: 'starting' | 'ready' | 'error';
  info: ReadyEvent | null;
  /** backend the user forced, if any */
  forced: BackendName | null;
  error: string | null;
  /** the Hugging Face or stored (lab-made) model in use (null = embedded stories260K) */
  model: PageModel | null;
  /** download progress events while a Hugging Face model loads */
  downloads: UrlProgress[];
}

class BackendUi implements BackendState {
  status = $state<BackendState['status']>('starting');
  // raw: these objects are replaced whole, and the model goes to the workers by postMessage (no proxies)
  info = $state.raw<ReadyEvent | null>(null);
  forced = $state<BackendName | null>(null);
  error = $state<string | null>(null);
  model = $state.raw<PageModel | null>(null);
  downloads = $state.raw<UrlProgress[]>([]);
}

export const backendState = new BackendUi();

onWorkerEvent((e) => {
  if (e.type === 'ready') {
    backendState.status = 'ready';
    backendState.info = e;
    backendState.error = null;
  } else if (e.type === 'error' && e.fatal) {
    backendState.status = 'error';
    backendState.error = e.message;
  } else if (e.type === 'log' && e.download) {
    backendState.downloads = [...backendState.downloads, e.download];
  }
});

const KEY = 'clo-lab:backend';

/** The backend the user forced last time (kept across reloads), or null for automatic. */
export function rememberedBackend(): BackendName | null {
  try {
    const v = localStorage.getItem(KEY);
    return v && (BACKEND_ORDER as string[]).includes(v) ? (v as BackendName) : null;
  } catch {
    return null;
  }
}

/** Starts the worker on the first backend that works, or on `forced` (remembered for the next visit). */
export function bootBackend(
  forced: BackendName | null = rememberedBackend(),
  model: PageModel | null = backendState.model,
): void {
  try {
    if (forced) localStorage.setItem(KEY, forced);
    else localStorage.removeItem(KEY);
  } catch {
    /* storage unavailable: the choice lasts for this page only */
  }
  backendState.status = 'starting';
  backendState.info = null;
  backendState.forced = forced;
  backendState.error = null;
  backendState.model = model;
  backendState.downloads = [];
  const spec = modelSpecOf(model);
  startWorker(forced ?? undefined, spec ?? undefined);
  // the evaluation worker follows the same backend choice and model (restarted on a change)
  configureEvalWorker({ backend: forced, model: spec });
}

/** The page's model as the workers' ModelSpec (null = the embedded stories260K). */
export function modelSpecOf(model: PageModel | null): ModelSpec | null {
  if (!model) return null;
  return model.kind === 'stored' ? model : { kind: 'hf', hf: model };
}

/** Loads a Hugging Face model (or, with null, the embedded stories260K) in a fresh worker, same backend choice. */
export function bootModel(model: PageModel | null): void {
  bootBackend(backendState.forced, model);
}
