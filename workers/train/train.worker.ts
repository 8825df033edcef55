/// <reference lib="webworker" />
/**
 * The training worker: boots through the worker host (../host/boot.ts: wasm, backend, model), then
 * serves its jobs (./protocol.ts) through the job runtime (../host/jobs.ts): a run trains as a `train`
 * job (Trainer step by step in ./session.ts, its events as the job's progress; pause and stop abort
 * the job's signal), and generate, merge and trl run beside it.
 */
import * as tf from '@tensorflow/tfjs';
import { backendFields, bootHost, errText, ModelHost } from '../host/boot';
import { serveJobs, type JobContext } from '../host/jobs';
import { checkAdapterFits } from '../host/adapter-fit';
import { guardMemory } from '../host/memory-guard';
import { baseFormatOf } from '../../src/lib/model/packed-base';
import type { LoadedModel } from '../../src/lib/model/model';
import type { ModelRef } from '../../src/lib/formats/model-spec';
import { generate } from '../../src/lib/model/generate';
import { loraFromSnapshot, disposeLora } from '../../src/lib/lora/lora';
import type { LoraState } from '../../src/lib/lora/types';
import { RunStore, type RunRecord } from '../../src/lib/store/runs';
import { DatasetStore } from '../../src/lib/store/datasets';
import type {
  GenerateArgs,
  GenerateResult,
  MergedFiles,
  ReadyEvent,
  StartArgs,
  TokenEvent,
  TrainArgs,
  TrainJobs,
  TrainResult,
  TrainSettings,
  TrlFiles,
  WorkerEvent,
} from './protocol';
import { createLock } from '../host/lock';
import { TrainSession } from './session';
import { withTrainedRows } from '../host/run-rows';
import type { RowsSnapshot } from '../../src/lib/train/trainable-rows';
import { exportMerged } from '../../src/lib/formats/merged';
import { trlExportFiles } from '../../src/lib/formats/trl-export';
import { webgpuAdapterInfo } from '../../src/lib/backend/select';
import { pickBackendForRun } from './auto-pick';

const runs = new RunStore();
const datasets = new DatasetStore();
const exclusive = createLock();
const host = new ModelHost();
let model: LoadedModel | null = null;
let modelRefNow: ModelRef | null = null;
let session: TrainSession | null = null;
/** the boot settings and the ready payload sent (a backend event updates it) */
let booted: { settings: TrainSettings; ready: ReadyEvent } | null = null;
/** where the run's events go: the progress of the train (or stop) job in flight */
let emit: (e: WorkerEvent) => void = () => undefined;
const post = (e: WorkerEvent) => emit(e);

async function boot(s: TrainSettings, progress: (e: WorkerEvent) => void): Promise<ReadyEvent> {
  const info = await bootHost(
    {
      backend: s.backend,
      model: s.model,
      threads: s.threads,
      onDownload: (p) => progress({ type: 'log', level: 'info', message: `${p.file}: ${p.loaded} bytes`, download: p }),
    },
    host,
  );
  model = (await host.loaded())?.model ?? null;
  modelRefNow = info.model.ref;
  booted = { settings: s, ready: info };
  return info;
}

async function needModel(): Promise<LoadedModel> {
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
    guardMemory(m.config, { train: config }, baseFormatOf(m));
    session = await TrainSession.open({ record, model: m, rows, config, checkpoint, runs, post, exclusive });
  } catch (err) {
    // e.g. no row fits the objective: the run is marked failed, not left looking interrupted
    await runs.update(record.id, { status: 'failed', error: errText(err) }).catch(() => undefined);
    const step = checkpoint?.step ?? 0;
    post({ type: 'progress', runId: record.id, phase: 'failed', step, total: config.steps, tokensPerS: 0, etaS: null });
    throw err;
  }
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

async function generateText(cmd: GenerateArgs, ctx: JobContext<TokenEvent>): Promise<GenerateResult> {
  const base = await needModel();
  const run = cmd.runId ? await runWeights(base, cmd.runId) : null;
  let withRows: ReturnType<typeof withTrainedRows> | null = null;
  try {
    withRows = withTrainedRows(base, run?.rows, run?.name ?? '');
    const m = withRows.model;
    const lora = run?.lora ?? null;
    return await exclusive(async () => {
      const start = performance.now();
      const ids = m.tokenizer.encode(cmd.prompt, { bos: true });
      const out = await generate(m, ids, {
        maxNewTokens: cmd.maxNewTokens,
        temperature: cmd.temperature,
        topP: cmd.topP,
        seed: cmd.seed,
        lora,
        signal: ctx.signal,
        onToken: (id, text) => ctx.progress({ id, text }),
      });
      return { text: out.text, ids: out.ids, ms: performance.now() - start };
    });
  } finally {
    withRows?.dispose();
    if (run?.owned) disposeLora(run.lora);
  }
}

/** The merged model of a run (base + its adapter + its trained rows) as Hugging Face files. */
async function mergeRun(cmd: { runId: string }): Promise<MergedFiles> {
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
    return Object.fromEntries(files);
  } finally {
    if (run.owned) disposeLora(run.lora);
  }
}

/**
 * A run's TRL bundle from its last checkpoint (saved at pause, stop and the end), its dataset's rows and
 * the loaded model. The page has no run.json: state/lab_state.json gets a minimal record of the run.
 */
async function trlBundle(cmd: { runId: string }): Promise<TrlFiles> {
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
  return Object.fromEntries(files);
}

/** Stops a paused stored run this worker holds no session for: its last checkpoint stays, as at a stop. */
async function stopStored(runId: string, send: (e: WorkerEvent) => void): Promise<void> {
  const record = await runs.get(runId);
  if (!record) throw new Error(`no stored run "${runId}"`);
  const step = record.lastCheckpointStep ?? 0;
  if (record.status === 'running' || record.status === 'paused') await runs.update(runId, { status: 'stopped' });
  send({ type: 'progress', runId, phase: 'stopped', step, total: record.config.steps, tokensPerS: 0, etaS: null });
  send({ type: 'done', what: 'train', runId, phase: 'stopped', step });
}

async function startRun(cmd: StartArgs): Promise<void> {
  await releaseSession();
  const m = await needModel();
  const record: RunRecord = {
    id: cmd.runId,
    name: cmd.name,
    createdAt: Date.now(),
    updatedAt: Date.now(),
    config: cmd.config,
    datasetId: cmd.datasetId,
    modelName: m.name,
    model: modelRefNow ?? undefined,
    status: 'running',
    metrics: [],
    lastCheckpointStep: null,
    backend: tf.getBackend(),
  };
  await runs.save(record);
  await openRun(record, false);
}

/** The paused run the worker holds continues; another stored run resumes from its last checkpoint. */
async function resumeRun(runId: string): Promise<void> {
  if (session?.runId === runId) {
    if (session.isLooping) throw new Error('the run is already training');
    return;
  }
  await releaseSession();
  const record = await runs.get(runId);
  if (!record) throw new Error(`no stored run "${runId}"`);
  await openRun(record, true);
}

/**
 * Under "auto", before a run opens (its trainer holds tensors on the backend): the backend measured for
 * its model and shape, or the one kept from an earlier measurement; the page gets the new ready payload.
 * A paused run the worker holds continues where it is.
 */
async function autoPickFor(args: TrainArgs, ctx: JobContext<WorkerEvent>): Promise<void> {
  if (!booted || booted.settings.backend) return;
  if ('resume' in args && session?.runId === args.resume) return;
  const m = await needModel();
  const record = 'start' in args ? null : await runs.get(args.resume);
  const config = 'start' in args ? args.start.config : record?.config;
  const rows = await datasets.getRows('start' in args ? args.start.datasetId : (record?.datasetId ?? ''));
  if (!config || !rows?.length) return; // opening the run says what is missing
  await releaseSession();
  const report = await exclusive(() =>
    pickBackendForRun({
      model: m,
      rows,
      config,
      threads: booted?.settings.threads,
      signal: ctx.signal,
      onProgress: (p) => post({ type: 'measure', ...p }),
    }),
  );
  const adapterInfo =
    tf.getBackend() === 'webgpu' ? ((await webgpuAdapterInfo().catch(() => null)) ?? undefined) : undefined;
  const ready: ReadyEvent = {
    ...booted.ready,
    ...(await backendFields(adapterInfo)),
    fallbackFrom: [],
    autoPick: report,
  };
  booted = { ...booted, ready };
  post({ type: 'backend', ready });
}

/** One run trains until it completes, fails, or the signal pauses ('pause') or stops ('stop') it. */
async function train(args: TrainArgs, ctx: JobContext<WorkerEvent>): Promise<TrainResult> {
  emit = ctx.progress;
  await autoPickFor(args, ctx);
  if ('start' in args) await startRun(args.start);
  else await resumeRun(args.resume);
  const s = session!;
  const onAbort = () => {
    if (s.phase === 'running') s.phase = ctx.signal.reason === 'stop' ? 'stopped' : 'paused';
  };
  ctx.signal.addEventListener('abort', onAbort);
  try {
    await s.run();
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
  return { runId: s.runId, phase: s.phase, step: s.trainer.stepIndex };
}

/** Ends the paused run the worker holds, or the named stored run when the worker holds another (or none). */
async function stop(args: { runId?: string } | null, ctx: JobContext<WorkerEvent>): Promise<null> {
  const runId = args?.runId;
  if (!session || (runId !== undefined && runId !== session.runId)) {
    // its events go to this call only: a train job of another run may be streaming through `emit`
    if (runId !== undefined) await stopStored(runId, ctx.progress);
    return null;
  }
  if (session.isLooping) return null;
  emit = ctx.progress;
  session.phase = 'stopped';
  await runs.update(session.runId, { status: 'stopped' });
  session.progress();
  post({ type: 'done', what: 'train', runId: session.runId, phase: 'stopped', step: session.trainer.stepIndex });
  return null;
}

serveJobs<TrainJobs, TrainSettings, ReadyEvent>('training worker', {
  boot,
  jobs: { train, stop, generate: generateText, merge: mergeRun, trl: trlBundle },
  alongside: ['generate', 'merge', 'trl', 'stop'],
});
