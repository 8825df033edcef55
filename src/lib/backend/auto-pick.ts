/**
 * "auto" decided by measurement: the first run of a model and batch shape times a few warm training
 * steps on each candidate backend (webgpu, wasm) and keeps the faster one; the choice is cached per
 * model, shape and device, so later runs (and a reload) use it without measuring again.
 *
 *   const { pick, measured } = await autoPick(shape, {
 *     cache: kvAutoPickCache(idbStore()),
 *     device: 'google / swiftshader · wasm 1 thread',
 *     candidates: ['webgpu', 'wasm'],
 *     activate: async (b) => { await tf.setBackend(b); installLabKernels(b); },
 *     trainer: () => Trainer.create(model, rows, config),     // a throwaway trainer of the run's shape
 *     time: timeWarmSteps,                                     // src/lib/train/time-steps.ts
 *     carry: () => [...namedTensors(model.weights).values()],  // tensors that follow the backend
 *   });
 *   formatAutoPick(pick);    // "webgpu 840 tok/s, wasm 3,100 tok/s: wasm"
 *
 * The software-adapter rule of ./order.ts (autoOrder) only orders the backends a worker boots on before
 * any measurement; it never decides a pick.
 *
 * Moving between backends: tfjs moves a tensor to the backend in use when a kernel reads it (reading
 * it synchronously from its old backend). WebGPU cannot read synchronously without a canvas, so before
 * leaving a backend the `carry` tensors are read once asynchronously: their values are then on the CPU
 * side and the move needs no GPU read.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendName } from './order';

/** The backends "auto" measures, where they are available. */
export const AUTO_PICK_CANDIDATES: readonly BackendName[] = ['webgpu', 'wasm'];

/** What a pick is cached by: the model and the shape of a training step. */
export interface PickShape {
  /** the model's name or spec key */
  model: string;
  objective: string;
  batchSize: number;
  gradAccum: number;
  maxSeqLen: number;
}

/** One backend's measurement: tokens/s over the timed steps, or why it could not run. */
export interface BackendTiming {
  backend: BackendName;
  tokensPerS?: number;
  msPerStep?: number;
  /** the budget ran out before a warm step: the figure is from the untimed first step(s) */
  cold?: boolean;
  /**
   * a step was still running when the budget ran out: `tokensPerS` is an upper bound (a step's tokens,
   * as the first backend counted them, over the time waited)
   */
  unfinished?: boolean;
  error?: string;
}

export interface AutoPick {
  key: string;
  choice: BackendName;
  /** in the order measured */
  timings: BackendTiming[];
  /** ms since the epoch */
  measuredAt: number;
}

/** A pick as a worker or the CLI reports it. */
export interface AutoPickReport {
  /** formatAutoPick: "webgpu 840 tok/s, wasm 3,100 tok/s: wasm" */
  line: string;
  pick: AutoPick;
  /** false: kept from an earlier measurement of this model and shape (nothing measured now) */
  measured: boolean;
}

/** What the measurement needs of a trainer (src/lib/train/trainer.ts Trainer has it). */
export interface TimedTrainer {
  dispose(): void;
}

/** One backend's figure from timeWarmSteps (src/lib/train/time-steps.ts). */
export interface StepTiming {
  tokensPerS: number;
  msPerStep: number;
  /** no timed step fitted the budget: the figure is from the warm-up */
  cold?: boolean;
}

export interface StepCounts {
  /** untimed steps first (shader compilation, first uploads): default 1 */
  warmup?: number;
  /** timed steps: default 2 */
  steps?: number;
  /**
   * ms one backend may take (default 30 s): once past it, no further step starts and the backend is
   * judged by the steps it finished (a software adapter can take tens of seconds per step)
   */
  budgetMs?: number;
}

export interface MeasureBudget extends StepCounts {
  /**
   * a backend measured after another may take at most this many times as long as the quickest measured
   * so far (default 4, never under 1 s): past that it cannot win, so it starts no further step
   */
  slowFactor?: number;
}

/** Progress while measuring: `step` of `of` (warm-up steps included) on `backend`. */
export interface MeasureProgress {
  backend: BackendName;
  step: number;
  of: number;
}

export interface MeasureOptions<T extends TimedTrainer = TimedTrainer> extends MeasureBudget {
  candidates: readonly BackendName[];
  /** makes `backend` the one tfjs runs on (and installs what the lab adds to it); throws when it cannot */
  activate(backend: BackendName): Promise<void>;
  /**
   * a fresh trainer of the run's model and shape on the backend in use; disposed after timing. For every
   * backend but the first (the one in use, where the model lives) it must train on its own copy of the
   * weights: a step that runs past the budget is left to finish on its own, its trainer disposed
   */
  trainer(backend: BackendName): T | Promise<T>;
  /** steps `trainer` and times it: src/lib/train/time-steps.ts timeWarmSteps */
  time(trainer: T, counts: StepCounts, onStep?: (done: number, of: number) => void): Promise<StepTiming>;
  /** tensors that must stay usable on whichever backend wins (the model's weights) */
  carry?: () => Iterable<tf.Tensor>;
  onProgress?(p: MeasureProgress): void;
  signal?: AbortSignal;
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** The cache key of a model and shape on a device (the adapter, wasm threads: what the speed depends on). */
export function autoPickKey(shape: PickShape, device = ''): string {
  const { model, objective, batchSize, gradAccum, maxSeqLen } = shape;
  return `${model}|${objective}|b${batchSize}x${Math.max(1, gradAccum)}|t${maxSeqLen}|${device}`;
}

/** The backend with the most tokens/s among those that finished their steps; null when none did. */
export function fastest(timings: readonly BackendTiming[]): BackendName | null {
  let best: BackendTiming | null = null;
  for (const t of timings)
    if (t.tokensPerS !== undefined && !t.error && !t.unfinished && (!best || t.tokensPerS > best.tokensPerS!)) best = t;
  return best?.backend ?? null;
}

const rate = (x: number) => (x >= 10 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));

/**
 * "webgpu 840 tok/s, wasm 3,100 tok/s: wasm"; a backend that failed: "webgpu failed (why)"; one judged by
 * its first (untimed) step when the budget ran out: "webgpu 36 tok/s (first step only)".
 */
export function formatAutoPick(pick: Pick<AutoPick, 'choice' | 'timings'>): string {
  const parts = pick.timings.map((t) =>
    t.error || t.tokensPerS === undefined
      ? `${t.backend} failed (${t.error ?? 'no figure'})`
      : t.unfinished
        ? `${t.backend} < ${rate(t.tokensPerS)} tok/s (a step ran past ${rate((t.msPerStep ?? 0) / 1000)} s)`
        : `${t.backend} ${rate(t.tokensPerS)} tok/s${t.cold ? ' (first step only)' : ''}`,
  );
  return `${parts.join(', ')}: ${pick.choice}`;
}

/** Reads `tensors` once so their values sit on the CPU side (a later move to another backend needs no GPU read). */
export async function keepReadable(tensors: Iterable<tf.Tensor>): Promise<void> {
  await Promise.all([...tensors].filter((t) => !t.isDisposed).map((t) => t.data()));
}

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw Object.assign(new Error('measurement cancelled'), { name: 'AbortError' });
}

/**
 * Times each candidate (the backend in use first: the carried tensors are already there, and the worker
 * booted on the backend likely to be fastest, ./order.ts) and leaves tfjs on the fastest. A backend
 * measured later gets a budget of `slowFactor` × the quickest measurement so far: a software WebGPU
 * adapter is then judged by one step instead of spending a minute on three. A candidate that fails to start or to step is recorded with its error; when
 * every candidate fails, the error says why for each.
 */
export async function measureBackends<T extends TimedTrainer>(
  opts: MeasureOptions<T>,
): Promise<{ choice: BackendName; timings: BackendTiming[] }> {
  const current = tf.getBackend() as BackendName;
  const order = [...opts.candidates].sort((a, b) => Number(b === current) - Number(a === current));
  const timings: BackendTiming[] = [];
  let quickest = Infinity;
  let tokensPerStep = 0;
  const switchTo = async (b: BackendName) => {
    if (opts.carry) await keepReadable(opts.carry());
    await opts.activate(b);
  };
  for (const backend of order) {
    checkAbort(opts.signal);
    let trainer: T | null = null;
    try {
      if (tf.getBackend() !== backend) await switchTo(backend);
      trainer = await opts.trainer(backend);
      const cap = opts.budgetMs ?? 30_000;
      const budgetMs = Math.min(cap, Math.max(1000, (opts.slowFactor ?? 4) * quickest));
      const t0 = now();
      const timing = opts.time(trainer, { warmup: opts.warmup, steps: opts.steps, budgetMs }, (step, of) =>
        opts.onProgress?.({ backend, step, of }),
      );
      const first = timings.length === 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waited = first
        ? await timing
        : await Promise.race([timing, new Promise<null>((ok) => (timer = setTimeout(() => ok(null), budgetMs)))]);
      clearTimeout(timer);
      const ms = now() - t0;
      if (waited === null) {
        // still stepping: left to finish on its own copy of the weights (it fails on its disposed trainer)
        timing.catch(() => undefined);
        timings.push({ backend, tokensPerS: tokensPerStep / (ms / 1000), msPerStep: ms, unfinished: true });
      } else {
        if (first) tokensPerStep = (waited.tokensPerS * waited.msPerStep) / 1000;
        quickest = Math.min(quickest, ms);
        timings.push({ backend, ...waited });
      }
    } catch (err) {
      timings.push({ backend, error: err instanceof Error ? err.message : String(err) });
    } finally {
      trainer?.dispose();
    }
  }
  const choice = fastest(timings);
  if (!choice)
    throw new Error(`no backend could train here: ${timings.map((t) => `${t.backend}: ${t.error}`).join('; ')}`);
  if (tf.getBackend() !== choice) await switchTo(choice);
  return { choice, timings };
}

/** Where picks are kept. */
export interface AutoPickCache {
  get(key: string): Promise<AutoPick | undefined>;
  set(pick: AutoPick): Promise<void>;
}

const PREFIX = 'auto-pick:';

/** The part of a key-value store the cache uses (src/lib/store/types.ts KeyValueStore has it). */
export interface PickStore {
  get<T>(key: string): Promise<T | undefined>;
  set<T>(key: string, value: T): Promise<void>;
}

/** Picks in a key-value store (IndexedDB in the browser, files in Node), under 'auto-pick:<key>'. */
export function kvAutoPickCache(kv: PickStore): AutoPickCache {
  return {
    get: (key) => kv.get<AutoPick>(PREFIX + key),
    set: (pick) => kv.set(PREFIX + pick.key, pick),
  };
}

/** Picks for this process only (tests, the CLI without a store). */
export function memoryAutoPickCache(): AutoPickCache {
  const m = new Map<string, AutoPick>();
  return {
    get: async (key) => m.get(key),
    set: async (pick) => void m.set(pick.key, pick),
  };
}

export interface AutoPickOptions<T extends TimedTrainer = TimedTrainer> extends MeasureOptions<T> {
  cache: AutoPickCache;
  /** the device part of the key (adapter name, wasm threads) */
  device?: string;
  /** measure even when the cache has a pick */
  remeasure?: boolean;
}

/**
 * The pick for `shape`: the cached one (tfjs switched to its choice, nothing measured), or a new
 * measurement (measureBackends), then cached. A cached choice that is no longer a candidate, or no longer
 * starts, is measured again.
 */
export async function autoPick<T extends TimedTrainer>(
  shape: PickShape,
  opts: AutoPickOptions<T>,
): Promise<{ pick: AutoPick; measured: boolean }> {
  const key = autoPickKey(shape, opts.device);
  const cached = opts.remeasure ? undefined : await opts.cache.get(key).catch(() => undefined);
  if (cached && opts.candidates.includes(cached.choice)) {
    const was = tf.getBackend() as BackendName;
    try {
      if (was !== cached.choice) {
        if (opts.carry) await keepReadable(opts.carry());
        await opts.activate(cached.choice);
      }
      return { pick: cached, measured: false };
    } catch {
      // the cached choice no longer starts (e.g. the GPU went away): back to where it was, and measure
      await opts.activate(was).catch(() => undefined);
    }
  }
  const { choice, timings } = await measureBackends(opts);
  const pick: AutoPick = { key, choice, timings, measuredAt: Date.now() };
  await opts.cache.set(pick).catch(() => undefined);
  return { pick, measured: true };
}
