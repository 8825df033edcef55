/**
 * Messages between the page and workers/eval/eval.worker.ts (client: ./client.ts). Plain data only: tensors never cross.
 * Commands in: init, evaluate, generate (answers for a win-rate session), retention (held-out
 * perplexity and/or language fidelity), cancel.
 * Events out: ready, progress, result, generation, retention-result, error.
 * One job at a time; `cancel` stops the current job, which then ends with an error event
 * `{cancelled: true}`.
 */
import type { EvalReport } from '../../src/lib/eval/run-eval';
import type { SplitName } from '../../src/lib/eval/tasks';
import type { FidelitySummary, HeldOutPerplexity } from '../../src/lib/eval/retention';
import type { BackendName } from '../../src/lib/backend/order';
import type { ModelSpec } from '../../src/lib/formats/model-spec';
import type { HostReady } from '../host/boot';

export type EvalBackendName = BackendName;

/** Every result says what produced it: the backend actually used (and wasm threads), the model,
 *  and the worker's live tensors after the job (leak check). */
export interface ResultLabel {
  model: string;
  backend: string;
  threads?: number;
  tensors: { numTensors: number; numBytes: number };
}

/** Which weights to use: the base model, or base + a stored run's latest checkpoint adapter. */
export type EvalTarget = { kind: 'base' } | { kind: 'run'; runId: string };

// ---- commands (page → worker) ----
export interface EvalInitCommand {
  type: 'init';
  /** forced backend (the header's choice); absent = auto */
  backend?: EvalBackendName;
  /** the base model loaded in the page; absent = the embedded stories260K */
  model?: ModelSpec;
}
export interface EvalStartCommand {
  type: 'evaluate';
  jobId: string;
  target: EvalTarget;
  tasks: string[];
  shots: number;
  limit: number | null;
  split?: SplitName;
  seed: number;
}
export interface EvalGenerateCommand {
  type: 'generate';
  jobId: string;
  target: EvalTarget;
  prompts: string[];
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
}
export interface EvalRetentionCommand {
  type: 'retention';
  jobId: string;
  target: EvalTarget;
  /** held-out TinyStories perplexity */
  perplexity: boolean;
  /** language fidelity of greedy generations to the bundled prompts */
  fidelity: boolean;
  /** perplexity: first n paragraphs; fidelity: first n prompts per language; null = all */
  limit: number | null;
  maxNewTokens: number;
}
export interface EvalCancelCommand {
  type: 'cancel';
  jobId: string;
}
export type EvalCommand =
  EvalInitCommand | EvalStartCommand | EvalGenerateCommand | EvalRetentionCommand | EvalCancelCommand;

// ---- events (worker → page) ----
export interface EvalReadyEvent extends HostReady {
  type: 'ready';
}
export interface EvalProgressEvent {
  type: 'progress';
  jobId: string;
  /** task name, 'generate', 'perplexity' or 'fidelity' */
  task: string;
  taskIndex: number;
  taskCount: number;
  done: number;
  total: number;
}
export interface EvalResultEvent extends ResultLabel {
  type: 'result';
  jobId: string;
  report: EvalReport;
  ms: number;
  /** adapter step when target is a run */
  step: number | null;
}
export interface EvalGenerationEvent extends ResultLabel {
  type: 'generation';
  jobId: string;
  /** one answer per prompt, in order */
  texts: string[];
  ms: number;
}
export interface EvalRetentionEvent extends ResultLabel {
  type: 'retention-result';
  jobId: string;
  perplexity: HeldOutPerplexity | null;
  fidelity: FidelitySummary | null;
  ms: number;
  /** adapter step when target is a run */
  step: number | null;
}
export interface EvalErrorEvent {
  type: 'error';
  jobId?: string;
  message: string;
  cancelled?: boolean;
  fatal?: boolean;
}
export type EvalEvent =
  EvalReadyEvent | EvalProgressEvent | EvalResultEvent | EvalGenerationEvent | EvalRetentionEvent | EvalErrorEvent;
