/// <reference lib="webworker" />
/**
 * The worker host: every lab worker (train, eval, vocab, experiment) boots through here, so wasm
 * paths, threads, the backend choice and model loading are the same everywhere.
 *
 *   const host = new ModelHost();                         // one per worker
 *   // the job runtime's boot (./jobs.ts serveJobs), with the page's settings {backend?, model?}:
 *   boot: (s) => bootHost({ backend: s.backend, model: s.model, onDownload }, host),   // HostReady
 *   // later, per job: the model a job needs (reloaded only when the spec changes)
 *   const m = await host.ensure(spec);
 *
 * What bootHost does, in order:
 *  1. wasm: binaries from /tfjs-wasm/ (vite.config.ts serves and emits them); the threaded SIMD build
 *     when the page is cross-origin isolated (vite.config.ts makes it survive minification);
 *  2. backend: the forced one, or "auto" = BACKEND_ORDER with a software WebGPU adapter moved behind
 *     wasm (src/lib/backend/order.ts, the one list), reporting every skipped backend and why (the start
 *     only: the training worker measures the backends for a run, workers/train/auto-pick.ts); then the
 *     lab's patches to tfjs for it (installLabKernels, src/lib/model/kernels/install.ts);
 *  3. model: ModelSpec (src/lib/formats/model-spec.ts) → LoadedModel.
 * Guards that run before work: ./memory-guard.ts (memory) and ./adapter-fit.ts (adapter vs model).
 */
import { baseFormatOf, type BaseFormat } from '../../src/lib/model/packed-base';
import * as tf from '@tensorflow/tfjs';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { selectAutoBackend } from '../../src/lib/backend/select';
import { registerLabWebgpu, type WebGPUBackendClass } from '../../src/lib/backend/webgpu-device';
import { installLabKernels } from '../../src/lib/model/kernels/install';
import type { BackendName } from '../../src/lib/backend/order';
import type { AutoPickReport } from '../../src/lib/backend/auto-pick';
import {
  EMBEDDED_MODEL,
  loadModelSpec,
  modelRef,
  specKey,
  type ModelRef,
  type ModelSpec,
} from '../../src/lib/formats/model-spec';
import type { UrlProgress } from '../../src/lib/formats/url-source';
import { idbStore } from '../../src/lib/store/idb';
import { ModelStore } from '../../src/lib/store/models';
import { countParams, type ModelConfig } from '../../src/lib/model/config';
import type { LoadedModel } from '../../src/lib/model/model';
import { disposeWeights } from '../../src/lib/model/weights';
import { describeAdapter, type AdapterDescription } from './backend-info';

export const WASM_URL = '/tfjs-wasm/';

export interface ModelDescription {
  name: string;
  source: string;
  config: ModelConfig;
  nParams: number;
  /** what a run record keeps (name, kind, dims) */
  ref: ModelRef;
  /** the frozen base's precision the model was loaded with (model/packed-base.ts) */
  base: BaseFormat;
  /**
   * tokens the Vocabulary step added (ids vocabSize − added … vocabSize − 1), the rows a run can train;
   * known for the extended models the lab stores, absent for others
   */
  added?: number;
}

/** What every worker reports once booted (its `ready` event carries these fields). */
export interface HostReady {
  backend: string;
  /** backends passed over before the chosen one, in order, and why (empty = none) */
  fallbackFrom: { name: string; reason: string }[];
  requested?: string;
  adapter?: AdapterDescription;
  crossOriginIsolated: boolean;
  /** wasm threads in use (1 = single-threaded); absent on other backends */
  threads?: number;
  /** wasm: whether the threaded SIMD build was loaded (needs cross-origin isolation); absent on other backends */
  threadedBuild?: boolean;
  model: ModelDescription;
  /**
   * under "auto", once a run has measured (or found kept) the backend for its model and shape: the figures
   * and the choice (the training worker, workers/train/auto-pick.ts); absent before that
   */
  autoPick?: AutoPickReport;
  /** ms from worker start to model ready */
  initMs: number;
}

export interface BootOptions {
  /** forced backend; absent/null = auto */
  backend?: BackendName | null;
  /** absent = the embedded stories260K */
  model?: ModelSpec | null;
  /** wasm threads to ask for (default: defaultThreads(), half the logical cores like tfjs; more is opt-in) */
  threads?: number;
  onDownload?: (p: UrlProgress) => void;
}

const t0 = performance.now();
let wasmConfigured = false;

const logicalCores = (): number =>
  (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;

/**
 * Default wasm threads: tfjs's own choice, half the logical cores (at least 1, at most 8), i.e. one per
 * physical core on a hyper-threaded CPU. Every core did not win when measured (bench/browser-bench.ts
 * --variants wasm:1,wasm:2, CLO batch 2 × 64, 2 vCPUs, 2026-12-02, 12 alternating rounds, 23 page loads
 * each; bench/results/browser.json): 2 threads were slower in every round, 0.35–0.84× the tokens/s of
 * 1 (medians 861 vs 1,365 tokens/s; page load → first step 5.2 s either way). Other jobs kept 0.1–1.5 of
 * the 2 cores busy meanwhile (a pool thread waiting for a busy core holds up each parallel op: the
 * likely cause); no quiet window came to measure 2 threads alone. So more than tfjs's default stays
 * opt-in (`threads`, bench `--variants wasm:N`).
 */
export function defaultThreads(): number {
  return Math.max(1, Math.min(8, Math.floor(logicalCores() / 2)));
}

/**
 * Step 1: same wasm set-up in every worker. Threads need cross-origin isolation (SharedArrayBuffer).
 *
 * tfjs's C++ side caps the pool at navigator.hardwareConcurrency / 2 whatever setThreadsCount asks.
 * When `threads` asks for more, this worker's navigator reports twice that many cores before the wasm
 * module starts (it reads the value once), so the cap no longer binds and setThreadsCount decides.
 */
export function configureWasm(threads?: number): void {
  if (wasmConfigured) return;
  wasmConfigured = true;
  setWasmPaths(WASM_URL);
  if (!(globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated)
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  const want = threads && threads > 0 ? Math.min(8, Math.floor(threads)) : defaultThreads();
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav && want * 2 > logicalCores()) {
    try {
      Object.defineProperty(nav, 'hardwareConcurrency', { value: want * 2, configurable: true });
    } catch {
      /* read-only here: tfjs's cap stays */
    }
  }
  setThreadsCount(want);
}

/** Threads the wasm backend runs with (1 when single-threaded); undefined on other backends. */
export function wasmThreads(): number | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  try {
    return getThreadsCount();
  } catch {
    return undefined;
  }
}

export function describeModel(m: LoadedModel, spec: ModelSpec, added?: number): ModelDescription {
  return {
    name: m.name,
    source: m.source,
    config: m.config,
    nParams: countParams(m.config),
    base: baseFormatOf(m),
    ref: modelRef(spec, m.config),
    ...(added && added > 0 && added < m.config.vocabSize ? { added } : {}),
  };
}

/** Added tokens of a stored (lab-made) model, from its record in the model store. */
async function addedTokens(spec: ModelSpec): Promise<number | undefined> {
  if (spec.kind !== 'stored') return undefined;
  return (await new ModelStore(idbStore()).get(spec.id))?.added;
}

/** One loaded model per worker; `ensure(spec)` reloads (and frees the old weights) only when the spec changes. */
export class ModelHost {
  private current: { key: string; spec: ModelSpec; model: Promise<LoadedModel> } | null = null;
  onDownload?: (p: UrlProgress) => void;

  async ensure(spec: ModelSpec = EMBEDDED_MODEL): Promise<LoadedModel> {
    const key = specKey(spec);
    if (this.current?.key === key) return this.current.model;
    const old = this.current;
    const model = loadModelSpec(spec, {
      baseUrl: self.location.origin,
      // URL downloads are cached in IndexedDB; stored (lab-made) models live there
      store: (spec.kind === 'hf' && spec.hf.kind === 'url') || spec.kind === 'stored' ? idbStore() : null,
      onDownload: (p) => this.onDownload?.(p),
    });
    this.current = { key, spec, model };
    model.catch(() => {
      if (this.current?.key === key) this.current = null;
    });
    if (old) await old.model.then((m) => disposeWeights(m.weights)).catch(() => undefined);
    return model;
  }

  /** The loaded model and its spec, if any. */
  async loaded(): Promise<{ model: LoadedModel; spec: ModelSpec } | null> {
    if (!this.current) return null;
    const { spec, model } = this.current;
    return { model: await model, spec };
  }
}

/** Steps 1–3; returns the ready payload. Throws with a readable message when nothing works. */
export async function bootHost(opts: BootOptions, host: ModelHost): Promise<HostReady> {
  configureWasm(opts.threads);
  // the lab's WebGPU device (adapter maxima, device-loss watch) where tfjs registered its backend
  if (tf.findBackendFactory('webgpu')) registerLabWebgpu(WebGPUBackend as unknown as WebGPUBackendClass);
  const picked = await selectAutoBackend(opts.backend ?? null);
  // the lab's changes to tfjs (eager backward, wasm kernels): docs/choices.md lists them
  installLabKernels(picked.name);
  host.onDownload = opts.onDownload;
  const spec = opts.model ?? EMBEDDED_MODEL;
  const model = await host.ensure(spec);
  return {
    ...(await backendFields(picked.adapterInfo)),
    fallbackFrom: picked.fallbackFrom,
    requested: opts.backend ?? undefined,
    crossOriginIsolated: !!(globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated,
    model: describeModel(model, spec, await addedTokens(spec)),
    initMs: performance.now() - t0,
  };
}

/** The backend in use as the ready payload describes it (again after "auto" switched it for a run). */
export async function backendFields(
  adapterInfo?: Record<string, unknown>,
): Promise<Pick<HostReady, 'backend' | 'adapter' | 'threads' | 'threadedBuild'>> {
  const name = tf.getBackend();
  return {
    backend: name,
    adapter: describeAdapter(adapterInfo),
    threads: wasmThreads(),
    threadedBuild:
      name === 'wasm'
        ? !!(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) &&
          !!(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))
        : undefined,
  };
}

export { errText } from './jobs';

/** Live tensor count and bytes (the leak check reads these from progress events). */
export function tensorStats(): { numTensors: number; numBytes: number } {
  const m = tf.memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes };
}
