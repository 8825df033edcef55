/// <reference lib="webworker" />
/**
 * The evaluation worker: boots through the worker host (../host/boot.ts) on the backend and model
 * the page names in `init` (the header's choice and the Model view's model: the page restarts this
 * worker when either changes), then runs evaluations (src/lib/eval/run-eval.ts), retention/fidelity
 * (src/lib/eval/retention.ts) and win-rate generations on the base model or base + a stored run's
 * adapter (its latest checkpoint; refused when it was trained on another model). One job at a time;
 * `cancel` aborts it. Protocol: ./protocol.ts; the page's handle: ./client.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { bootHost, errText, forwardUnhandled, ModelHost, tensorStats, wasmThreads } from '../host/boot';
import { checkAdapterFits } from '../host/adapter-fit';
import { guardMemory } from '../host/memory-guard';
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
import { isAbortError } from '../../src/lib/eval/abort';
import type {
  EvalCommand,
  EvalEvent,
  EvalGenerateCommand,
  EvalInitCommand,
  EvalRetentionCommand,
  EvalRetentionEvent,
  EvalStartCommand,
  EvalTarget,
} from './protocol';

declare const self: DedicatedWorkerGlobalScope;

const runs = new RunStore();
const host = new ModelHost();
let model: LoadedModel | null = null;
let ready: Promise<void> | null = null;
let current: { jobId: string; controller: AbortController } | null = null;

const post = (e: EvalEvent) => self.postMessage(e);

async function init(cmd: EvalInitCommand): Promise<void> {
  const info = await bootHost({ backend: cmd.backend, model: cmd.model }, host);
  model = (await host.loaded())?.model ?? null;
  post({ type: 'ready', ...info });
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

async function needModel(): Promise<LoadedModel> {
  if (!ready) ready = init({ type: 'init' });
  await ready;
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

function beginJob(jobId: string): AbortController {
  if (current) throw new Error('an evaluation is already running: cancel it first');
  const controller = new AbortController();
  current = { jobId, controller };
  return controller;
}

/** One job: the model, the target's adapter (disposed after) and a cancel signal. */
async function withTarget(
  jobId: string,
  target: EvalTarget,
  fn: (
    m: LoadedModel,
    adapter: { lora: LoraState | null; step: number | null },
    signal: AbortSignal,
  ) => Promise<() => void>,
): Promise<void> {
  const controller = beginJob(jobId);
  let lora: LoraState | null = null;
  let withRows: ModelWithRows | null = null;
  let finish: () => void;
  try {
    const m = await needModel();
    guardMemory(m.config, { batchSize: 1, seqLen: m.config.maxSeqLen });
    const adapter = await adapterFor(m, target);
    lora = adapter.lora;
    withRows = withTrainedRows(m, adapter.rows, adapter.name);
    finish = await fn(withRows.model, adapter, controller.signal);
  } finally {
    withRows?.dispose();
    if (lora) disposeLora(lora);
    current = null;
  }
  // posted after the adapter is freed, so the event's tensor count is the worker's resting state
  finish();
}

async function runEvaluation(cmd: EvalStartCommand): Promise<void> {
  await withTarget(cmd.jobId, cmd.target, async (m, adapter, signal) => {
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
      onProgress: (p) => post({ type: 'progress', jobId: cmd.jobId, ...p }),
    });
    const ms = performance.now() - t0;
    return () => post({ type: 'result', jobId: cmd.jobId, report, ...label(m), ms, step: adapter.step });
  });
}

async function runRetention(cmd: EvalRetentionCommand): Promise<void> {
  await withTarget(cmd.jobId, cmd.target, async (m, adapter, signal) => {
    const lora = adapter.lora;
    const source = fetchDataSource(new URL('/data', self.location.origin).href);
    const parts = [...(cmd.perplexity ? ['perplexity'] : []), ...(cmd.fidelity ? ['fidelity'] : [])];
    const progress = (task: string) => (done: number, total: number) =>
      post({
        type: 'progress',
        jobId: cmd.jobId,
        task,
        taskIndex: parts.indexOf(task),
        taskCount: parts.length,
        done,
        total,
      });
    const t0 = performance.now();
    const out: EvalRetentionEvent = {
      type: 'retention-result',
      jobId: cmd.jobId,
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
    return () => post({ ...out, ...label(m), ms });
  });
}

async function runGeneration(cmd: EvalGenerateCommand): Promise<void> {
  await withTarget(cmd.jobId, cmd.target, async (m, { lora }, signal) => {
    const t0 = performance.now();
    const texts: string[] = [];
    for (let i = 0; i < cmd.prompts.length; i++) {
      if (signal.aborted) throw Object.assign(new Error('generation cancelled'), { name: 'AbortError' });
      post({
        type: 'progress',
        jobId: cmd.jobId,
        task: 'generate',
        taskIndex: 0,
        taskCount: 1,
        done: i,
        total: cmd.prompts.length,
      });
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
    post({
      type: 'progress',
      jobId: cmd.jobId,
      task: 'generate',
      taskIndex: 0,
      taskCount: 1,
      done: cmd.prompts.length,
      total: cmd.prompts.length,
    });
    const ms = performance.now() - t0;
    return () => post({ type: 'generation', jobId: cmd.jobId, texts, ...label(m), ms });
  });
}

async function handle(cmd: EvalCommand): Promise<void> {
  switch (cmd.type) {
    case 'init':
      ready ??= init(cmd);
      await ready;
      return;
    case 'evaluate':
      await runEvaluation(cmd);
      return;
    case 'generate':
      await runGeneration(cmd);
      return;
    case 'retention':
      await runRetention(cmd);
      return;
    case 'cancel':
      if (current?.jobId === cmd.jobId) current.controller.abort();
      return;
  }
}

self.onmessage = (e: MessageEvent<EvalCommand>) => {
  const cmd = e.data;
  handle(cmd).catch((err) => {
    if (cmd.type === 'init') {
      post({ type: 'error', message: `Could not start the evaluation worker: ${errText(err)}`, fatal: true });
      return;
    }
    const jobId = 'jobId' in cmd ? cmd.jobId : undefined;
    post({ type: 'error', jobId, message: errText(err), cancelled: isAbortError(err) });
  });
};
forwardUnhandled((message) => post({ type: 'error', message }));
