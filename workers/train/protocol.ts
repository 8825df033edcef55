/**
 * Messages between the page and workers/train/train.worker.ts (client: ./client.ts). Plain data only: tensors never cross.
 * Commands go in (page → worker), events come out (worker → page); both are discriminated on `type`.
 *
 * Lifecycle: init → ready; start|resume → progress/metrics per step, checkpoint every N steps and at
 * pause/stop, done at the end; generate → token per token, then done {what: 'generate'};
 * merge → merged (the run's merged model files); trl → trl-bundle (the run's TRL bundle files).
 * Runs and checkpoints are persisted by the worker (src/lib/store/runs.ts); the page only reads them.
 */
import type { StepMetrics, TrainConfig } from '../../src/lib/train/types';
import type { ModelSpec } from '../../src/lib/formats/model-spec';
import type { UrlProgress } from '../../src/lib/formats/url-source';
import type { HostReady } from '../host/boot';

export { BACKEND_ORDER, type BackendName } from '../../src/lib/backend/order';
import type { BackendName } from '../../src/lib/backend/order';
export type { AdapterDescription } from '../host/backend-info';
export type { ModelDescription } from '../host/boot';

// ---- commands (page → worker) ----
export interface InitCommand {
  type: 'init';
  /** force a backend; absent = auto (src/lib/backend/order.ts) */
  backend?: BackendName;
  /** the base model; absent = the embedded stories260K */
  model?: ModelSpec;
  /** wasm threads (absent = half the logical cores, as tfjs; more is opt-in; 1 = single-threaded) */
  threads?: number;
}
export interface StartCommand {
  type: 'start';
  runId: string;
  name: string;
  /** DatasetStore id; the worker reads the rows itself */
  datasetId: string;
  config: TrainConfig;
}
export interface PauseCommand {
  type: 'pause';
}
/** Without runId: continue the paused run. With the id of a stored run: resume it from its last checkpoint. */
export interface ResumeCommand {
  type: 'resume';
  runId?: string;
}
/** Stops the live run; with the id of a paused run this worker has not opened (e.g. it was paused in the worker a backend switch replaced), marks that stored run stopped. */
export interface StopCommand {
  type: 'stop';
  runId?: string;
}
/** Save a checkpoint of the live run now. */
export interface CheckpointCommand {
  type: 'checkpoint';
}
export interface GenerateCommand {
  type: 'generate';
  requestId: string;
  prompt: string;
  /** null = base model; a run id = base + that run's adapter (live trainer or last checkpoint) */
  runId: string | null;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
}
/** The run's merged model: base + its adapter + its trained embedding rows, as Hugging Face files (answered by `merged`). */
export interface MergeCommand {
  type: 'merge';
  requestId: string;
  runId: string;
}
/**
 * The run's TRL bundle (src/lib/formats/trl-export.ts, as the CLI's `export --format trl`): from its last
 * checkpoint, its dataset's rows and the loaded model (answered by `trl-bundle`).
 */
export interface TrlBundleCommand {
  type: 'trl';
  requestId: string;
  runId: string;
}
export type WorkerCommand =
  | InitCommand
  | StartCommand
  | PauseCommand
  | ResumeCommand
  | StopCommand
  | CheckpointCommand
  | GenerateCommand
  | MergeCommand
  | TrlBundleCommand;

// ---- events (worker → page) ----
/** Booted: backend (and why), wasm threads, the model (workers/host/boot.ts HostReady). */
export interface ReadyEvent extends HostReady {
  type: 'ready';
}
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
export interface GenerateDoneEvent {
  type: 'done';
  what: 'generate';
  requestId: string;
  text: string;
  ids: number[];
  ms: number;
}
export type DoneEvent = TrainDoneEvent | GenerateDoneEvent;
export interface ErrorEvent {
  type: 'error';
  message: string;
  runId?: string;
  requestId?: string;
  /** true when the worker cannot continue (model or backend failed) */
  fatal?: boolean;
}
export interface TokenEvent {
  type: 'token';
  requestId: string;
  id: number;
  text: string;
}
export interface MergedEvent {
  type: 'merged';
  requestId: string;
  runId: string;
  /** file name → bytes (config.json, model.safetensors, tokenizer files, generation_config.json) */
  files: Record<string, Uint8Array>;
}
export interface TrlBundleEvent {
  type: 'trl-bundle';
  requestId: string;
  runId: string;
  /** path inside the bundle → bytes (safetensors) or text */
  files: Record<string, Uint8Array | string>;
}
export type WorkerEvent =
  | ReadyEvent
  | ProgressEvent
  | MetricsEvent
  | LogEvent
  | CheckpointEvent
  | DoneEvent
  | ErrorEvent
  | TokenEvent
  | MergedEvent
  | TrlBundleEvent;
