/// <reference lib="webworker" />
/**
 * The evaluation worker: boots through the worker host (../host/boot.ts) on the backend and model
 * the page names (the header's choice and the Model view's model: the page restarts this worker when
 * either changes), then runs evaluations (src/lib/eval/run-eval.ts), retention/fidelity
 * (src/lib/eval/retention.ts) and win-rate generations on the base model or base + a stored run's
 * adapter (its latest checkpoint; refused when it was trained on another model). Jobs: ./protocol.ts,
 * served by the job runtime (../host/jobs.ts: one job at a time, cancel through the job's signal).
 */
import * as tf from '@tensorflow/tfjs';
import { bootHost, ModelHost, tensorStats, wasmThreads } from '../host/boot';
import { serveJobs, type JobContext } from '../host/jobs';
import { checkAdapterFits } from '../host/adapter-fit';
import { guardMemory } from '../host/memory-guard';
import { baseFormatOf } from '../../src/lib/model/packed-base';
import type { LoadedModel } from '../../src/lib/model/model';
import { generate } from '../../src/lib/model/generate';
import { disposeLora, loraFromSnapshot } from '../../src/lib/lora/lora';
import type { RowsSnapshot } from '../../src/lib/train/trainable-rows';
import { withTrainedRows, type ModelWithRows } from '../host/run-rows';
import type { LoraState } from '../../src/lib/lora/types';
import { RunStore } from '../../src/lib/store/runs';
import { fetchDataSource } from '../../src/lib/eval/data';
import { evaluate } from '../../src/lib/eval/run-eval';
import { parseTaskList } from '../../src/lib/eval/tasks';
import {
  heldOutPerplexity,
  languageFidelity,
  limitPerLanguage,
  loadFidelityPrompts,
  loadHeldOutParagraphs,
} from '../../src/lib/eval/retention';
import type {
  EvalJobs,
  EvalProgress,
  EvalReady,
  EvalSettings,
  EvaluateArgs,
  EvaluateResult,
  GenerateArgs,
  GenerateResult,
  EvalTarget,
  RetentionArgs,
  RetentionResult,
} from './protocol';

declare const self: DedicatedWorkerGlobalScope;

const runs = new RunStore();
const host = new ModelHost();
let model: LoadedModel | null = null;

async function boot(s: EvalSettings): Promise<EvalReady> {
  const info = await bootHost({ backend: s.backend, model: s.model }, host);
  model = (await host.loaded())?.model ?? null;
  return info;
}

/** What every result is labelled with: the backend actually used, its threads, the model. */
function label(m: LoadedModel): {
  model: string;
  backend: string;
  threads?: number;
  tensors: { numTensors: number; numBytes: number };
} {
  return { model: m.name, backend: tf.getBackend(), threads: wasmThreads(), tensors: tensorStats() };
}

function needModel(): LoadedModel {
  if (!model) throw new Error('model failed to load');
  return model;
}

/**
 * The adapter of a target (null for the base model), the checkpoint step it came from, and its trained
 * embedding rows (a run that trained the added tokens' rows).
 */
async function adapterFor(
  m: LoadedModel,
  target: EvalTarget,
): Promise<{ lora: LoraState | null; step: number | null; rows?: RowsSnapshot; name: string }> {
  if (target.kind === 'base') return { lora: null, step: null, name: m.name };
  const [ckpt, record] = await Promise.all([runs.loadCheckpoint(target.runId), runs.get(target.runId)]);
  if (!ckpt) throw new Error(`run ${target.runId} has no saved checkpoint yet: save one (or let the run finish) first`);
  const name = record?.name ?? target.runId;
  checkAdapterFits(m, ckpt.lora, name, record ?? { modelName: m.name });
  return { lora: loraFromSnapshot(ckpt.lora), step: ckpt.step, rows: ckpt.rows, name };
}

/**
 * One job on the model with the target's adapter (disposed after). `fn` returns a function that makes
 * the result, called once the adapter is freed so its tensor count is the worker's resting state.
 */
async function withTarget<T>(
  target: EvalTarget,
  fn: (m: LoadedModel, adapter: { lora: LoraState | null; step: number | null }) => Promise<() => T>,
): Promise<T> {
  let lora: LoraState | null = null;
  let withRows: ModelWithRows | null = null;
  let finish: () => T;
  try {
    const m = needModel();
    guardMemory(m.config, { batchSize: 1, seqLen: m.config.maxSeqLen }, baseFormatOf(m));
    const adapter = await adapterFor(m, target);
    lora = adapter.lora;
    withRows = withTrainedRows(m, adapter.rows, adapter.name);
    finish = await fn(withRows.model, adapter);
  } finally {
    withRows?.dispose();
    if (lora) disposeLora(lora);
  }
  return finish();
}

function runEvaluation(cmd: EvaluateArgs, { signal, progress }: JobContext<EvalProgress>): Promise<EvaluateResult> {
  return withTarget(cmd.target, async (m, adapter) => {
    const lora = adapter.lora;
    const tasks = parseTaskList(cmd.tasks.join(','));
    const t0 = performance.now();
    const report = await evaluate(m, tasks, {
      source: fetchDataSource(new URL('/data', self.location.origin).href),
      shots: cmd.shots,
      limit: cmd.limit,
      split: cmd.split,
      seed: cmd.seed,
      lora,
      includeText: true,
      signal,
      keepOnAbort: true,
      onProgress: progress,
    });
    const ms = performance.now() - t0;
    return () => ({ report, ...label(m), ms, step: adapter.step });
  });
}

function runRetention(
  cmd: RetentionArgs,
  { signal, progress: post }: JobContext<EvalProgress>,
): Promise<RetentionResult> {
  return withTarget(cmd.target, async (m, adapter) => {
    const lora = adapter.lora;
    const source = fetchDataSource(new URL('/data', self.location.origin).href);
    const parts = [...(cmd.perplexity ? ['perplexity'] : []), ...(cmd.fidelity ? ['fidelity'] : [])];
    const progress = (task: string) => (done: number, total: number) =>
      post({ task, taskIndex: parts.indexOf(task), taskCount: parts.length, done, total });
    const t0 = performance.now();
    const out: RetentionResult = {
      perplexity: null,
      fidelity: null,
      ...label(m),
      ms: 0,
      step: adapter.step,
    };
    if (cmd.perplexity) {
      const paragraphs = await loadHeldOutParagraphs(source);
      out.perplexity = await heldOutPerplexity(m, paragraphs, {
        lora,
        limit: cmd.limit,
        signal,
        onProgress: progress('perplexity'),
      });
    }
    if (cmd.fidelity) {
      const prompts = limitPerLanguage(await loadFidelityPrompts(source), cmd.limit);
      out.fidelity = await languageFidelity(m, prompts, {
        lora,
        maxNewTokens: cmd.maxNewTokens,
        signal,
        onProgress: progress('fidelity'),
      });
    }
    const ms = performance.now() - t0;
    return () => ({ ...out, ...label(m), ms });
  });
}

function runGeneration(
  cmd: GenerateArgs,
  { signal, progress: post }: JobContext<EvalProgress>,
): Promise<GenerateResult> {
  return withTarget(cmd.target, async (m, { lora }) => {
    const t0 = performance.now();
    const texts: string[] = [];
    for (let i = 0; i < cmd.prompts.length; i++) {
      if (signal.aborted) throw Object.assign(new Error('generation cancelled'), { name: 'AbortError' });
      post({ task: 'generate', taskIndex: 0, taskCount: 1, done: i, total: cmd.prompts.length });
      const ids = m.tokenizer.encode(cmd.prompts[i], { bos: true });
      const out = await generate(m, ids, {
        maxNewTokens: cmd.maxNewTokens,
        temperature: cmd.temperature,
        topP: cmd.topP,
        seed: cmd.seed + i,
        lora,
        signal,
      });
      texts.push(out.text);
    }
    if (signal.aborted) throw Object.assign(new Error('generation cancelled'), { name: 'AbortError' });
    post({ task: 'generate', taskIndex: 0, taskCount: 1, done: cmd.prompts.length, total: cmd.prompts.length });
    const ms = performance.now() - t0;
    return () => ({ texts, ...label(m), ms });
  });
}

serveJobs<EvalJobs, EvalSettings, EvalReady>('evaluation worker', {
  boot,
  jobs: { evaluate: runEvaluation, generate: runGeneration, retention: runRetention },
});
