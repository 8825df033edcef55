/// <reference lib="webworker" />
/**
 * The training worker: boots through the worker host (../host/boot.ts: wasm, backend, model), then
 * turns WorkerCommand messages into engine calls (Trainer step by step, generate), streaming
 * WorkerEvents back. Protocol: ./protocol.ts; the page's handle: ./client.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { bootHost, errText, forwardUnhandled, ModelHost } from '../host/boot';
import { checkAdapterFits } from '../host/adapter-fit';
import { guardMemory } from '../host/memory-guard';
import type { LoadedModel } from '../../src/lib/model/model';
import type { ModelRef } from '../../src/lib/formats/model-spec';
import { generate } from '../../src/lib/model/generate';
import { loraFromSnapshot, disposeLora } from '../../src/lib/lora/lora';
import type { LoraState } from '../../src/lib/lora/types';
import { RunStore, type RunRecord } from '../../src/lib/store/runs';
import { DatasetStore } from '../../src/lib/store/datasets';
import type {
  GenerateCommand,
  InitCommand,
  MergeCommand,
  TrlBundleCommand,
  WorkerCommand,
  WorkerEvent,
} from './protocol';
import { createLock } from '../host/lock';
import { TrainSession } from './session';
import { withTrainedRows } from '../host/run-rows';
import type { RowsSnapshot } from '../../src/lib/train/trainable-rows';
import { exportMerged } from '../../src/lib/formats/merged';
import { trlExportFiles } from '../../src/lib/formats/trl-export';

declare const self: DedicatedWorkerGlobalScope;

const runs = new RunStore();
const datasets = new DatasetStore();
const exclusive = createLock();
const host = new ModelHost();
let model: LoadedModel | null = null;
let modelRefNow: ModelRef | null = null;
let ready: Promise<void> | null = null;
let session: TrainSession | null = null;

const post = (e: WorkerEvent) => self.postMessage(e);

async function init(cmd: InitCommand): Promise<void> {
  const info = await bootHost(
    {
      backend: cmd.backend,
      model: cmd.model,
      threads: cmd.threads,
      onDownload: (p) => post({ type: 'log', level: 'info', message: `${p.file}: ${p.loaded} bytes`, download: p }),
    },
    host,
  );
  model = (await host.loaded())?.model ?? null;
  modelRefNow = info.model.ref;
  post({ type: 'ready', ...info });
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
  if (record.modelName !== m.name)
    throw new Error(
      `run "${record.name}" was trained on ${record.model ? `${record.model.name} (dim ${record.model.dims.dim}, vocab ${record.model.dims.vocabSize})` : record.modelName}, but ${m.name} (dim ${m.config.dim}, vocab ${m.config.vocabSize}) is loaded: load ${record.modelName} in the Model view first`,
    );
  const rows = await datasets.getRows(record.datasetId);
  if (!rows || rows.length === 0) {
    await runs.update(record.id, { status: 'failed', error: 'dataset missing' }).catch(() => undefined);
    post({
      type: 'progress',
      runId: record.id,
      phase: 'failed',
      step: record.lastCheckpointStep ?? 0,
      total: record.config.steps,
      tokensPerS: 0,
      etaS: null,
    });
    throw new Error(`dataset "${record.datasetId}" of run "${record.name}" is not in browser storage`);
  }
  const checkpoint = resume ? await runs.loadCheckpoint(record.id) : undefined;
  if (resume && !checkpoint) {
    post({
      type: 'log',
      level: 'warn',
      runId: record.id,
      message: `No checkpoint for ${record.name}: restarting from step 0`,
    });
  }
  const config = checkpoint?.config ?? record.config;
  if (checkpoint) checkAdapterFits(m, checkpoint.lora, record.name, record);
  try {
    guardMemory(m.config, { train: config });
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

/**
 * A run's adapter and trained embedding rows: the live trainer's, or its last checkpoint's (checked
 * against the loaded model). `owned`: the LoRA state was built here and must be freed by the caller.
 */
async function runWeights(
  m: LoadedModel,
  runId: string,
): Promise<{ lora: LoraState; rows: RowsSnapshot | undefined; name: string; owned: boolean }> {
  if (session?.runId === runId) {
    const rows = session.trainer.rows ? await exclusive(() => session!.trainer.rows!.snapshot()) : undefined;
    return { lora: session.trainer.lora, rows, name: runId, owned: false };
  }
  const [ckpt, record] = await Promise.all([runs.loadCheckpoint(runId), runs.get(runId)]);
  if (!ckpt) throw new Error(`run ${runId} has no saved adapter yet`);
  const name = record?.name ?? runId;
  checkAdapterFits(m, ckpt.lora, name, record ?? { modelName: m.name });
  return { lora: loraFromSnapshot(ckpt.lora), rows: ckpt.rows, name, owned: true };
}

async function generateText(cmd: GenerateCommand): Promise<void> {
  const base = await needModel();
  const run = cmd.runId ? await runWeights(base, cmd.runId) : null;
  let withRows: ReturnType<typeof withTrainedRows> | null = null;
  try {
    withRows = withTrainedRows(base, run?.rows, run?.name ?? '');
    const m = withRows.model;
    const lora = run?.lora ?? null;
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
      post({
        type: 'done',
        what: 'generate',
        requestId: cmd.requestId,
        text: out.text,
        ids: out.ids,
        ms: performance.now() - start,
      });
    });
  } finally {
    withRows?.dispose();
    if (run?.owned) disposeLora(run.lora);
  }
}

/** The merged model of a run (base + its adapter + its trained rows) as Hugging Face files. */
async function mergeRun(cmd: MergeCommand): Promise<void> {
  const base = await needModel();
  const run = await runWeights(base, cmd.runId);
  try {
    const files = await exclusive(async () => {
      const withRows = withTrainedRows(base, run.rows, run.name);
      try {
        return await exportMerged(withRows.model, run.lora);
      } finally {
        withRows.dispose();
      }
    });
    const out = Object.fromEntries(files);
    post({ type: 'merged', requestId: cmd.requestId, runId: cmd.runId, files: out });
  } finally {
    if (run.owned) disposeLora(run.lora);
  }
}

/**
 * A run's TRL bundle from its last checkpoint (saved at pause, stop and the end), its dataset's rows and
 * the loaded model. The page has no run.json: state/lab_state.json gets a minimal record of the run.
 */
async function trlBundle(cmd: TrlBundleCommand): Promise<void> {
  const base = await needModel();
  if (session?.runId === cmd.runId && session.isLooping)
    throw new Error('the run is training: pause it first, the bundle continues from its checkpoint');
  const [ckpt, record] = await Promise.all([runs.loadCheckpoint(cmd.runId), runs.get(cmd.runId)]);
  if (!record) throw new Error(`run ${cmd.runId} is not in browser storage`);
  if (!ckpt) throw new Error(`run "${record.name}" has no checkpoint yet`);
  checkAdapterFits(base, ckpt.lora, record.name, record);
  const [rows, meta] = await Promise.all([datasets.getRows(record.datasetId), datasets.getMeta(record.datasetId)]);
  if (!rows || rows.length === 0)
    throw new Error(`dataset "${record.datasetId}" of run "${record.name}" is not in browser storage`);
  const run = {
    source: 'page',
    run: record.name,
    model: record.modelName,
    data: meta?.name ?? record.datasetId,
    rows: rows.length,
    config: ckpt.config,
  };
  const files = await exclusive(() =>
    trlExportFiles({ model: base, config: ckpt.config, rows, checkpoint: ckpt, run }),
  );
  post({ type: 'trl-bundle', requestId: cmd.requestId, runId: cmd.runId, files: Object.fromEntries(files) });
}

/** Stops a paused stored run this worker holds no session for: its last checkpoint stays, as at a stop. */
async function stopStored(runId: string): Promise<void> {
  const record = await runs.get(runId);
  if (!record) throw new Error(`no stored run "${runId}"`);
  const step = record.lastCheckpointStep ?? 0;
  if (record.status === 'running' || record.status === 'paused') await runs.update(runId, { status: 'stopped' });
  post({ type: 'progress', runId, phase: 'stopped', step, total: record.config.steps, tokensPerS: 0, etaS: null });
  post({ type: 'done', what: 'train', runId, phase: 'stopped', step });
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
        model: modelRefNow ?? undefined,
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
      if (!session || (cmd.runId !== undefined && cmd.runId !== session.runId)) {
        if (cmd.runId !== undefined) await stopStored(cmd.runId);
        return;
      }
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
    case 'merge':
      await mergeRun(cmd);
      return;
    case 'trl':
      await trlBundle(cmd);
      return;
  }
}

self.onmessage = (e: MessageEvent<WorkerCommand>) => {
  const cmd = e.data;
  handle(cmd).catch((err) => {
    const base = { type: 'error' as const, message: errText(err) };
    if (cmd.type === 'generate' || cmd.type === 'merge' || cmd.type === 'trl')
      post({ ...base, requestId: cmd.requestId });
    else if (cmd.type === 'init') post({ ...base, message: `Could not start the lab: ${errText(err)}`, fatal: true });
    else post({ ...base, runId: 'runId' in cmd ? cmd.runId : session?.runId });
  });
};
forwardUnhandled((message) => post({ type: 'error', message }));
