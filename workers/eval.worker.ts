/// <reference lib="webworker" />
/**
 * The evaluation worker: loads stories260K itself, picks a tfjs backend, and runs evaluations
 * (src/lib/eval/run-eval.ts), retention/fidelity measurements (src/lib/eval/retention.ts) and win-rate generations on the base model or base + a stored run's
 * adapter (its latest checkpoint). One job at a time; `cancel` aborts it. See eval-protocol.ts.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../src/lib/backend/select';
import { loadLlama2c } from '../src/lib/formats/llama2c';
import type { LoadedModel } from '../src/lib/model/model';
import { generate } from '../src/lib/model/generate';
import { disposeLora, loraFromSnapshot } from '../src/lib/lora/lora';
import type { LoraState } from '../src/lib/lora/types';
import { RunStore } from '../src/lib/store/runs';
import { fetchDataSource } from '../src/lib/eval/data';
import { evaluate } from '../src/lib/eval/run-eval';
import { parseTaskList } from '../src/lib/eval/tasks';
import { heldOutPerplexity, languageFidelity, limitPerLanguage, loadFidelityPrompts, loadHeldOutParagraphs } from '../src/lib/eval/retention';
import { isAbortError } from '../src/lib/eval/abort';
import type {
  EvalCommand, EvalEvent, EvalGenerateCommand, EvalInitCommand, EvalRetentionCommand, EvalRetentionEvent, EvalStartCommand, EvalTarget,
} from './eval-protocol';

declare const self: DedicatedWorkerGlobalScope;

setWasmPaths('/tfjs-wasm/');

const runs = new RunStore();
let model: LoadedModel | null = null;
let ready: Promise<void> | null = null;
let current: { jobId: string; controller: AbortController } | null = null;

const post = (e: EvalEvent) => self.postMessage(e);
const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function init(cmd: EvalInitCommand): Promise<void> {
  const picked = await selectBackend(cmd.backend, ['webgpu', 'webgl', 'wasm', 'cpu']);
  const [bin, tok] = await Promise.all([fetchBytes('/models/stories260K/stories260K.bin'), fetchBytes('/models/stories260K/tok512.bin')]);
  model = loadLlama2c(bin, tok, 'stories260K', 'stories260K', 'stories260K.bin', 'tok512.bin');
  post({ type: 'ready', backend: picked.name, model: model.name });
}

async function needModel(): Promise<LoadedModel> {
  if (!ready) ready = init({ type: 'init' });
  await ready;
  if (!model) throw new Error('model failed to load');
  return model;
}

/** The adapter of a target (null for the base model) and the checkpoint step it came from. */
async function adapterFor(target: EvalTarget): Promise<{ lora: LoraState | null; step: number | null }> {
  if (target.kind === 'base') return { lora: null, step: null };
  const ckpt = await runs.loadCheckpoint(target.runId);
  if (!ckpt) throw new Error(`run ${target.runId} has no saved checkpoint yet: save one (or let the run finish) first`);
  return { lora: loraFromSnapshot(ckpt.lora), step: ckpt.step };
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
  fn: (m: LoadedModel, adapter: { lora: LoraState | null; step: number | null }, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const controller = beginJob(jobId);
  let lora: LoraState | null = null;
  try {
    const m = await needModel();
    const adapter = await adapterFor(target);
    lora = adapter.lora;
    await fn(m, adapter, controller.signal);
  } finally {
    if (lora) disposeLora(lora);
    current = null;
  }
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
    post({ type: 'result', jobId: cmd.jobId, report, model: m.name, backend: tf.getBackend(), ms: performance.now() - t0, step: adapter.step });
  });
}

async function runRetention(cmd: EvalRetentionCommand): Promise<void> {
  await withTarget(cmd.jobId, cmd.target, async (m, adapter, signal) => {
    const lora = adapter.lora;
    const source = fetchDataSource(new URL('/data', self.location.origin).href);
    const parts = [...(cmd.perplexity ? ['perplexity'] : []), ...(cmd.fidelity ? ['fidelity'] : [])];
    const progress = (task: string) => (done: number, total: number) =>
      post({ type: 'progress', jobId: cmd.jobId, task, taskIndex: parts.indexOf(task), taskCount: parts.length, done, total });
    const t0 = performance.now();
    const out: EvalRetentionEvent = { type: 'retention-result', jobId: cmd.jobId, perplexity: null, fidelity: null, model: m.name, backend: tf.getBackend(), ms: 0, step: adapter.step };
    if (cmd.perplexity) {
      const paragraphs = await loadHeldOutParagraphs(source);
      out.perplexity = await heldOutPerplexity(m, paragraphs, { lora, limit: cmd.limit, signal, onProgress: progress('perplexity') });
    }
    if (cmd.fidelity) {
      const prompts = limitPerLanguage(await loadFidelityPrompts(source), cmd.limit);
      out.fidelity = await languageFidelity(m, prompts, { lora, maxNewTokens: cmd.maxNewTokens, signal, onProgress: progress('fidelity') });
    }
    post({ ...out, ms: performance.now() - t0 });
  });
}

async function runGeneration(cmd: EvalGenerateCommand): Promise<void> {
  await withTarget(cmd.jobId, cmd.target, async (m, { lora }, signal) => {
    const t0 = performance.now();
    const texts: string[] = [];
    for (let i = 0; i < cmd.prompts.length; i++) {
      if (signal.aborted) throw Object.assign(new Error('generation cancelled'), { name: 'AbortError' });
      post({ type: 'progress', jobId: cmd.jobId, task: 'generate', taskIndex: 0, taskCount: 1, done: i, total: cmd.prompts.length });
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
    post({ type: 'progress', jobId: cmd.jobId, task: 'generate', taskIndex: 0, taskCount: 1, done: cmd.prompts.length, total: cmd.prompts.length });
    post({ type: 'generation', jobId: cmd.jobId, texts, ms: performance.now() - t0 });
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
self.addEventListener('unhandledrejection', (e) => {
  post({ type: 'error', message: `evaluation worker: ${errText(e.reason)}` });
});
