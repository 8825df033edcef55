/// <reference lib="webworker" />
/**
 * The training worker: loads stories260K, picks a tfjs backend, and turns WorkerCommand messages
 * into engine calls (Trainer step by step, generate), streaming WorkerEvents back. See protocol.ts.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../src/lib/backend/select';
import { loadLlama2c } from '../src/lib/formats/llama2c';
import { loadHfSpec } from '../src/lib/formats/hf-spec';
import { idbStore } from '../src/lib/store/idb';
import { countParams } from '../src/lib/model/config';
import type { LoadedModel } from '../src/lib/model/model';
import { generate } from '../src/lib/model/generate';
import { loraFromSnapshot, disposeLora } from '../src/lib/lora/lora';
import type { LoraState } from '../src/lib/lora/types';
import { RunStore, type RunRecord } from '../src/lib/store/runs';
import { DatasetStore } from '../src/lib/store/datasets';
import { BACKEND_ORDER, type GenerateCommand, type InitCommand, type WorkerCommand, type WorkerEvent } from './protocol';
import { describeAdapter } from './backend-info';
import { createLock } from './lock';
import { TrainSession } from './train-session';

declare const self: DedicatedWorkerGlobalScope;

const t0 = performance.now();
setWasmPaths('/tfjs-wasm/');
// The threaded wasm build starts its pthread workers from the factory's source text, which breaks once
// the bundle is minified ("e is not defined"): use the single-threaded SIMD build.
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);

const runs = new RunStore();
const datasets = new DatasetStore();
const exclusive = createLock();
let model: LoadedModel | null = null;
let ready: Promise<void> | null = null;
let session: TrainSession | null = null;

const post = (e: WorkerEvent) => self.postMessage(e);
const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function init(cmd: InitCommand): Promise<void> {
  const picked = await selectBackend(cmd.backend, BACKEND_ORDER);
  if (cmd.model) {
    // downloads are cached in IndexedDB (the second load needs no network)
    model = await loadHfSpec(cmd.model, {
      store: idbStore(),
      onProgress: (p) => post({ type: 'log', level: 'info', message: `${p.file}: ${p.loaded} bytes`, download: p }),
    });
  } else {
    const [bin, tok] = await Promise.all([
      fetchBytes('/models/stories260K/stories260K.bin'),
      fetchBytes('/models/stories260K/tok512.bin'),
    ]);
    model = loadLlama2c(bin, tok, 'stories260K', 'stories260K', 'stories260K.bin', 'tok512.bin');
  }
  post({
    type: 'ready',
    backend: picked.name,
    fallbackFrom: picked.fallbackFrom,
    requested: cmd.backend,
    adapter: describeAdapter(picked.adapterInfo),
    crossOriginIsolated: self.crossOriginIsolated,
    model: { name: model.name, source: model.source, config: model.config, nParams: countParams(model.config) },
    initMs: performance.now() - t0,
  });
}

async function needModel(): Promise<LoadedModel> {
  if (!ready) throw new Error('worker not initialised: send init first');
  await ready;
  if (!model) throw new Error('model failed to load');
  return model;
}

/** Leaves the live session (already checkpointed when paused) so another run can take the worker. */
async function releaseSession(): Promise<void> {
  if (!session) return;
  if (session.isLooping) throw new Error('a run is in progress: pause or stop it first');
  session.dispose();
  session = null;
}

async function openRun(record: RunRecord, resume: boolean): Promise<void> {
  const m = await needModel();
  if (record.modelName !== m.name) throw new Error(`run "${record.name}" trained ${record.modelName}, but ${m.name} is loaded: load that model first`);
  const rows = await datasets.getRows(record.datasetId);
  if (!rows || rows.length === 0) {
    await runs.update(record.id, { status: 'failed', error: 'dataset missing' }).catch(() => undefined);
    post({ type: 'progress', runId: record.id, phase: 'failed', step: record.lastCheckpointStep ?? 0, total: record.config.steps, tokensPerS: 0, etaS: null });
    throw new Error(`dataset "${record.datasetId}" of run "${record.name}" is not in browser storage`);
  }
  const checkpoint = resume ? await runs.loadCheckpoint(record.id) : undefined;
  if (resume && !checkpoint) {
    post({ type: 'log', level: 'warn', runId: record.id, message: `No checkpoint for ${record.name}: restarting from step 0` });
  }
  const config = checkpoint?.config ?? record.config;
  try {
    session = await TrainSession.open({ record, model: m, rows, config, checkpoint, runs, post, exclusive });
  } catch (err) {
    // e.g. no row fits the objective: the run is marked failed, not left looking interrupted
    await runs.update(record.id, { status: 'failed', error: errText(err) }).catch(() => undefined);
    const step = checkpoint?.step ?? 0;
    post({ type: 'progress', runId: record.id, phase: 'failed', step, total: config.steps, tokensPerS: 0, etaS: null });
    throw err;
  }
  void session.run();
}

async function generateText(cmd: GenerateCommand): Promise<void> {
  const m = await needModel();
  let lora: LoraState | null = null;
  let owned = false;
  if (cmd.runId) {
    if (session?.runId === cmd.runId) lora = session.trainer.lora;
    else {
      const ckpt = await runs.loadCheckpoint(cmd.runId);
      if (!ckpt) throw new Error(`run ${cmd.runId} has no saved adapter yet`);
      lora = loraFromSnapshot(ckpt.lora);
      owned = true;
    }
  }
  try {
    await exclusive(async () => {
      const start = performance.now();
      const ids = m.tokenizer.encode(cmd.prompt, { bos: true });
      const out = await generate(m, ids, {
        maxNewTokens: cmd.maxNewTokens,
        temperature: cmd.temperature,
        topP: cmd.topP,
        seed: cmd.seed,
        lora,
        onToken: (id, text) => post({ type: 'token', requestId: cmd.requestId, id, text }),
      });
      post({ type: 'done', what: 'generate', requestId: cmd.requestId, text: out.text, ids: out.ids, ms: performance.now() - start });
    });
  } finally {
    if (owned && lora) disposeLora(lora);
  }
}

async function handle(cmd: WorkerCommand): Promise<void> {
  switch (cmd.type) {
    case 'init':
      ready ??= init(cmd);
      await ready;
      return;
    case 'start': {
      await releaseSession();
      await needModel();
      const record: RunRecord = {
        id: cmd.runId,
        name: cmd.name,
        createdAt: Date.now(),
        updatedAt: Date.now(),
        config: cmd.config,
        datasetId: cmd.datasetId,
        modelName: model?.name ?? 'stories260K',
        status: 'running',
        metrics: [],
        lastCheckpointStep: null,
        backend: tf.getBackend(),
      };
      await runs.save(record);
      await openRun(record, false);
      return;
    }
    case 'pause':
      if (session?.phase === 'running') session.phase = 'paused';
      return;
    case 'resume': {
      if (session && (!cmd.runId || cmd.runId === session.runId)) {
        if (!session.isLooping && session.phase === 'paused') void session.run();
        return;
      }
      if (!cmd.runId) throw new Error('nothing to resume');
      await releaseSession();
      const record = await runs.get(cmd.runId);
      if (!record) throw new Error(`no stored run "${cmd.runId}"`);
      await openRun(record, true);
      return;
    }
    case 'stop':
      if (!session) return;
      if (session.isLooping) session.phase = 'stopped';
      else {
        session.phase = 'stopped';
        await runs.update(session.runId, { status: 'stopped' });
        session.progress();
        post({ type: 'done', what: 'train', runId: session.runId, phase: 'stopped', step: session.trainer.stepIndex });
      }
      return;
    case 'checkpoint':
      if (session) await session.saveCheckpoint();
      return;
    case 'generate':
      await generateText(cmd);
      return;
  }
}

self.onmessage = (e: MessageEvent<WorkerCommand>) => {
  const cmd = e.data;
  handle(cmd).catch((err) => {
    const base = { type: 'error' as const, message: errText(err) };
    if (cmd.type === 'generate') post({ ...base, requestId: cmd.requestId });
    else if (cmd.type === 'init') post({ ...base, message: `Could not start the lab: ${errText(err)}`, fatal: true });
    else post({ ...base, runId: 'runId' in cmd ? cmd.runId : session?.runId });
  });
};
self.addEventListener('unhandledrejection', (e) => {
  post({ type: 'error', message: `worker: ${errText(e.reason)}` });
});
