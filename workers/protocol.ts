/**
 * Messages between the page and workers/train.worker.ts. Plain data only: tensors never cross.
 * Commands go in (page → worker), events come out (worker → page); both are discriminated on `type`.
 *
 * Lifecycle: init → ready; start|resume → progress/metrics per step, checkpoint every N steps and at
 * pause/stop, done at the end; generate → token per token, then done {what: 'generate'}.
 * Runs and checkpoints are persisted by the worker (src/lib/store/runs.ts); the page only reads them.
 */
import type { ModelConfig } from '../src/lib/model/config';
import type { StepMetrics, TrainConfig } from '../src/lib/train/types';
import type { HfModelSpec } from '../src/lib/formats/hf-spec';
import type { UrlProgress } from '../src/lib/formats/url-source';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export const BACKEND_ORDER: BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

// ---- commands (page → worker) ----
export interface InitCommand {
  type: 'init';
  /** force a backend; absent = first that works in BACKEND_ORDER */
  backend?: BackendName;
  /** a Hugging Face model (files or URL); absent = the embedded stories260K */
  model?: HfModelSpec;
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
export interface StopCommand {
  type: 'stop';
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
export type WorkerCommand =
  | InitCommand
  | StartCommand
  | PauseCommand
  | ResumeCommand
  | StopCommand
  | CheckpointCommand
  | GenerateCommand;

// ---- events (worker → page) ----
export interface AdapterDescription {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  /** the device limits tfjs asked for (it requests the adapter's maxima for buffers and workgroups) */
  limits?: Record<string, number>;
}
export interface ModelDescription {
  name: string;
  source: string;
  config: ModelConfig;
  nParams: number;
}
export interface ReadyEvent {
  type: 'ready';
  backend: string;
  /** backends tried before the chosen one, in order, with why each was passed over (empty = no fallback) */
  fallbackFrom: { name: string; reason: string }[];
  requested?: string;
  adapter?: AdapterDescription;
  crossOriginIsolated: boolean;
  model: ModelDescription;
  /** ms from worker start to model ready */
  initMs: number;
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
export type WorkerEvent =
  | ReadyEvent
  | ProgressEvent
  | MetricsEvent
  | LogEvent
  | CheckpointEvent
  | DoneEvent
  | ErrorEvent
  | TokenEvent;
