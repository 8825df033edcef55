/**
 * The training worker's jobs (workers/train/train.worker.ts, served by the job runtime
 * workers/host/jobs.ts; the page calls them through workers/host/registry.ts `trainJobs`). Plain data
 * only: tensors never cross.
 *
 * - train {start} | {resume}: one run trains; its progress events are the run's events (progress and
 *   metrics per step, checkpoint, log, done, error). Under "auto" the backend for the run's model and
 *   shape is measured first, or read from the picks kept (measure events while it measures, then a
 *   backend event with the ready payload as it is on the chosen backend). Aborting the call's signal with 'pause' or 'stop'
 *   ends the step loop after the step in flight and a checkpoint; the job then resolves with the phase.
 *   The paused run stays in the worker: train {resume} continues it, `stop` ends it. Both name the run, so a
 *   worker that replaced the paused run's worker (a backend switch) rebuilds it from its checkpoint, or marks
 *   the stored run stopped.
 * - generate (tokens as progress), merge (the run's merged model files), trl (its TRL bundle): these
 *   run beside a live train job, taking turns with its steps on the backend.
 * Runs and checkpoints are persisted by the worker (src/lib/store/runs.ts); the page only reads them.
 */
import type { StepMetrics, TrainConfig } from '../../src/lib/train/types';
import type { ModelSpec } from '../../src/lib/formats/model-spec';
import type { UrlProgress } from '../../src/lib/formats/url-source';
import type { HostReady } from '../host/boot';
import type { JobSpec } from '../host/jobs';

export { BACKEND_ORDER, type BackendName } from '../../src/lib/backend/order';
import type { BackendName } from '../../src/lib/backend/order';
export type { AdapterDescription } from '../host/backend-info';
export type { ModelDescription } from '../host/boot';

/** What the worker boots with. */
export interface TrainSettings {
  /** force a backend; absent = auto (src/lib/backend/order.ts) */
  backend?: BackendName;
  /** the base model; absent = the embedded stories260K */
  model?: ModelSpec;
  /** wasm threads (absent = half the logical cores, as tfjs; more is opt-in; 1 = single-threaded) */
  threads?: number;
}
export interface StartArgs {
  runId: string;
  name: string;
  /** DatasetStore id; the worker reads the rows itself */
  datasetId: string;
  config: TrainConfig;
}
/** A new run, or a stored one: the paused run the worker holds continues, another resumes from its checkpoint. */
export type TrainArgs = { start: StartArgs } | { resume: string };
export interface TrainResult {
  runId: string;
  phase: RunPhase;
  step: number;
}
export interface GenerateArgs {
  prompt: string;
  /** null = base model; a run id = base + that run's adapter (live trainer or last checkpoint) */
  runId: string | null;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
}
export interface GenerateResult {
  text: string;
  ids: number[];
  ms: number;
}

// ---- events (worker → page) ----
/** Booted: backend (and why), wasm threads, the model (workers/host/boot.ts HostReady). */
export type ReadyEvent = HostReady;
export type RunPhase = 'running' | 'paused' | 'completed' | 'stopped' | 'failed';
export interface ProgressEvent {
  type: 'progress';
  runId: string;
  phase: RunPhase;
  /** steps done */
  step: number;
  total: number;
  tokensPerS: number;
  etaS: number | null;
  /** live tfjs tensors in the worker after the step (leak check) */
  tensors?: { numTensors: number; numBytes: number };
}
export interface MetricsEvent {
  type: 'metrics';
  runId: string;
  metrics: StepMetrics;
}
/** A log line. When a run starts or resumes it carries `history`: every metric so far, so charts can be rebuilt. */
export interface LogEvent {
  type: 'log';
  level: 'info' | 'warn';
  message: string;
  runId?: string;
  history?: StepMetrics[];
  /** per-file download progress while a Hugging Face model loads */
  download?: UrlProgress;
}
export interface CheckpointEvent {
  type: 'checkpoint';
  runId: string;
  step: number;
}
export interface TrainDoneEvent {
  type: 'done';
  what: 'train';
  runId: string;
  phase: 'completed' | 'stopped';
  step: number;
}
export type DoneEvent = TrainDoneEvent;
/** A run that failed, or a checkpoint that could not be saved. */
export interface ErrorEvent {
  type: 'error';
  message: string;
  runId?: string;
}
export interface TokenEvent {
  id: number;
  text: string;
}
/** file name → bytes (config.json, model.safetensors, tokenizer files, generation_config.json) */
export type MergedFiles = Record<string, Uint8Array>;
/** path inside the bundle → bytes (safetensors) or text */
export type TrlFiles = Record<string, Uint8Array | string>;

/** "auto" measures the backends for a run's model and shape (./auto-pick.ts): `step` of `of` on `backend`. */
export interface MeasureEvent {
  type: 'measure';
  backend: BackendName;
  step: number;
  of: number;
}
/** "auto" picked the backend for the run (measured or kept): the worker's ready payload as it is now. */
export interface BackendEvent {
  type: 'backend';
  ready: ReadyEvent;
}

/** A run's events (the train job's progress; the session in ./session.ts emits them). */
export type WorkerEvent =
  ProgressEvent | MetricsEvent | LogEvent | CheckpointEvent | DoneEvent | ErrorEvent | MeasureEvent | BackendEvent;

export type TrainJobs = {
  train: JobSpec<TrainArgs, WorkerEvent, TrainResult>;
  /**
   * ends the paused run the worker holds (a running one stops through the train job's signal); with the id of a
   * paused run this worker has not opened (it was paused in the worker a backend switch replaced), marks that
   * stored run stopped
   */
  stop: JobSpec<{ runId?: string } | null, WorkerEvent, null>;
  generate: JobSpec<GenerateArgs, TokenEvent, GenerateResult>;
  merge: JobSpec<{ runId: string }, never, MergedFiles>;
  trl: JobSpec<{ runId: string }, never, TrlFiles>;
};
