/** Backend/model state reported by the worker's `ready` event, shown in the header and Model view. */
import { BACKEND_ORDER, type BackendName, type ReadyEvent } from '../../../workers/train/protocol';
import type { LogEvent } from '../../../workers/train/protocol';
import { evalJobs, trainJobs } from '../../../workers/host/registry';
import type { ModelSpec } from '../../lib/formats/model-spec';
import type { HfModelSpec } from '../../lib/formats/hf-spec';
import type { UrlProgress } from '../../lib/formats/url-source';
import { ModelStore } from '../../lib/store/models';
import { idbStore } from '../../lib/store/idb';
import { BASE_CHOICES, type BaseChoice } from '../../lib/model/base-format';

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
  /** "auto" measuring the backends for a run: step `step` of `of` on `backend`; null otherwise */
  measuring: { backend: BackendName; step: number; of: number } | null;
  /** the frozen base's precision the workers load the model with (model/packed-base.ts; kept across reloads) */
  base: BaseChoice;
}

class BackendUi implements BackendState {
  status = $state<BackendState['status']>('starting');
  // raw: these objects are replaced whole, and the model goes to the workers by postMessage (no proxies)
  info = $state.raw<ReadyEvent | null>(null);
  forced = $state<BackendName | null>(null);
  error = $state<string | null>(null);
  model = $state.raw<PageModel | null>(null);
  downloads = $state.raw<UrlProgress[]>([]);
  measuring = $state.raw<BackendState['measuring']>(null);
  base = $state<BaseChoice>(rememberedBase());
}

export const backendState = new BackendUi();

trainJobs.onReady((r) => {
  backendState.status = 'ready';
  backendState.measuring = null;
  backendState.info = r;
  backendState.error = null;
});
trainJobs.onError((message, fatal) => {
  console.error(`[worker] ${message}`);
  if (!fatal) return;
  backendState.status = 'error';
  backendState.error = message;
});
trainJobs.onBootProgress((p) => {
  const e = p as LogEvent;
  if (e.download) backendState.downloads = [...backendState.downloads, e.download];
});

const KEY = 'clo-lab:backend';
const BASE_KEY = 'clo-lab:base';

/** The base precision picked at the last visit ('auto' when none). */
function rememberedBase(): BaseChoice {
  try {
    const v = localStorage.getItem(BASE_KEY);
    return v && (BASE_CHOICES as string[]).includes(v) ? (v as BaseChoice) : 'auto';
  } catch {
    return 'auto';
  }
}

/** Loads the same model again with another frozen-base precision (remembered for the next visit). */
export function setBase(base: BaseChoice): void {
  backendState.base = base;
  try {
    if (base === 'auto') localStorage.removeItem(BASE_KEY);
    else localStorage.setItem(BASE_KEY, base);
  } catch {
    /* storage unavailable: the choice lasts for this page only */
  }
  bootBackend(backendState.forced, backendState.model);
}
/** the model in use, when it can be loaded again after a reload (a stored model, a Hugging Face URL) */
const MODEL_KEY = 'clo-lab:model';

/** Remembers the page's model for the next visit (picked files cannot be reopened: forgotten). */
function rememberModel(model: PageModel | null): void {
  try {
    if (model && (model.kind === 'stored' || model.kind === 'url'))
      localStorage.setItem(MODEL_KEY, JSON.stringify(model));
    else localStorage.removeItem(MODEL_KEY);
  } catch {
    /* storage unavailable: the choice lasts for this page only */
  }
}

/**
 * The model in use at the last visit, or null (the embedded one). A stored model that is no longer in
 * this browser's storage is forgotten rather than failing the workers' start.
 */
export async function rememberedModel(): Promise<PageModel | null> {
  let m: PageModel | null;
  try {
    const v = JSON.parse(localStorage.getItem(MODEL_KEY) ?? 'null') as PageModel | null;
    const ok = (x: PageModel | null) =>
      !!x &&
      typeof x.name === 'string' &&
      ((x.kind === 'stored' && typeof x.id === 'string') || (x.kind === 'url' && typeof x.url === 'string'));
    m = ok(v) ? v : null;
  } catch {
    return null;
  }
  if (m?.kind === 'stored' && !(await new ModelStore(idbStore()).get(m.id).catch(() => undefined))) {
    rememberModel(null);
    return null;
  }
  return m;
}

/** Starts the workers on the backend and model of the last visit. */
export async function bootRemembered(): Promise<void> {
  bootBackend(rememberedBackend(), await rememberedModel());
}

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
  rememberModel(model);
  backendState.downloads = [];
  backendState.measuring = null;
  const spec = modelSpecOf(model);
  trainJobs.restart({ backend: forced ?? undefined, model: spec ?? undefined }, 'the backend or model changed').catch(
    () => undefined, // a failed boot is reported through onError
  );
  // the evaluation worker follows the same backend choice and model (restarted on a change)
  evalJobs.configure({ backend: forced ?? undefined, model: spec ?? undefined }, 'the backend or model changed');
}

/**
 * The page's model as the workers' ModelSpec, with the page's base precision (null = the embedded
 * stories260K at the default precision).
 */
export function modelSpecOf(model: PageModel | null, base: BaseChoice = backendState.base): ModelSpec | null {
  const withBase = base === 'auto' ? {} : { base };
  if (!model) return base === 'auto' ? null : { kind: 'embedded', ...withBase };
  return model.kind === 'stored' ? { ...model, ...withBase } : { kind: 'hf', hf: model, ...withBase };
}

/** Loads a Hugging Face model (or, with null, the embedded stories260K) in a fresh worker, same backend choice. */
export function bootModel(model: PageModel | null): void {
  bootBackend(backendState.forced, model);
}
