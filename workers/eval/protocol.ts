/**
 * The evaluation worker's jobs (workers/eval/eval.worker.ts, served by the job runtime
 * workers/host/jobs.ts; the page calls them through workers/host/registry.ts `evalJobs`). Plain data
 * only: tensors never cross. Jobs: evaluate, generate (answers for a win-rate session), retention
 * (held-out perplexity and/or language fidelity). One job at a time; cancel = the call's signal.
 */
import type { EvalReport } from '../../src/lib/eval/run-eval';
import type { SplitName } from '../../src/lib/eval/tasks';
import type { FidelitySummary, HeldOutPerplexity } from '../../src/lib/eval/retention';
import type { BackendName } from '../../src/lib/backend/order';
import type { ModelSpec } from '../../src/lib/formats/model-spec';
import type { HostReady } from '../host/boot';
import type { JobSpec } from '../host/jobs';

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

/** What the worker boots with: the header's backend (absent = auto) and the page's model (absent = embedded). */
export interface EvalSettings {
  backend?: EvalBackendName;
  model?: ModelSpec;
}

export interface EvaluateArgs {
  target: EvalTarget;
  tasks: string[];
  shots: number;
  limit: number | null;
  split?: SplitName;
  seed: number;
}
export interface GenerateArgs {
  target: EvalTarget;
  prompts: string[];
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
}
export interface RetentionArgs {
  target: EvalTarget;
  /** held-out TinyStories perplexity */
  perplexity: boolean;
  /** language fidelity of greedy generations to the bundled prompts */
  fidelity: boolean;
  /** perplexity: first n paragraphs; fidelity: first n prompts per language; null = all */
  limit: number | null;
  maxNewTokens: number;
}

export interface EvalProgress {
  /** task name, 'generate', 'perplexity' or 'fidelity' */
  task: string;
  taskIndex: number;
  taskCount: number;
  done: number;
  total: number;
}
export interface EvaluateResult extends ResultLabel {
  /** a cancelled evaluation keeps the tasks it finished (report.cancelled says what was left) */
  report: EvalReport;
  ms: number;
  /** adapter step when target is a run */
  step: number | null;
}
export interface GenerateResult extends ResultLabel {
  /** one answer per prompt, in order */
  texts: string[];
  ms: number;
}
export interface RetentionResult extends ResultLabel {
  perplexity: HeldOutPerplexity | null;
  fidelity: FidelitySummary | null;
  ms: number;
  /** adapter step when target is a run */
  step: number | null;
}

export type EvalJobs = {
  evaluate: JobSpec<EvaluateArgs, EvalProgress, EvaluateResult>;
  generate: JobSpec<GenerateArgs, EvalProgress, GenerateResult>;
  retention: JobSpec<RetentionArgs, EvalProgress, RetentionResult>;
};

export type EvalReady = HostReady;
