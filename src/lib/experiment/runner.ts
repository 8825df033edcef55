/**
 * Runs a recipe (docs/experiments.md): the evaluation suite on the base model, then each arm in
 * turn (train with the library Trainer, exactly as `lab train` would with the same settings, then
 * the suite on the trained arm). Progress lives in an ExperimentStore: the experiment record after
 * every phase and the current arm's checkpoint (checkpoint.safetensors bytes) every `checkpointEvery`
 * steps and on cancel, so a run that is
 * interrupted (reload, crash, cancel) resumes in the arm it was in, on the same trajectory.
 */
import type * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../model/model';
import type { DataSource } from '../eval/data';
import { decodeDataBytes } from '../eval/data';
import type { TrainRow } from '../data/rows';
import { Trainer } from '../train/trainer';
import { runTraining } from '../train/run-training';
import { checkpointFromBytes, checkpointToBytes } from '../formats/checkpoint';
import { defaultTrainConfig } from '../train/defaults';
import type { StepMetrics, TrainCheckpoint, TrainConfig } from '../train/types';
import { FullRank } from '../train/full-rank';
import type { LoraSnapshot } from '../lora/types';
import { snapshotLora } from '../lora/lora';
import type { ExperimentStore } from '../store/experiments';
import { armBudget, type Arm, type Recipe } from './recipe';
import { armRows } from './arm-data';
import { armModel, bundledCorpus, withRows, type ArmCarry } from './arm-model';
import { loadSuiteData, runSuite, type SuiteResult } from './suite';

export interface ArmResult {
  id: string;
  label: string;
  objective: string;
  /** 'lora' or the full-rank module list */
  method: string;
  config: TrainConfig;
  rows: { requested: number | null; used: number; skipped: number };
  metrics: StepMetrics[];
  trainSeconds: number;
  eval: SuiteResult;
  /** trained parameters */
  params: number;
  /** the arm's vocabulary extension: tokens added, their init, the first new id */
  vocab?: { add: number; init: string; oldVocab: number; vocabSize: number };
}

export interface ExperimentState {
  id: string;
  recipe: Recipe;
  status: 'running' | 'done' | 'cancelled' | 'failed';
  startedAt: number;
  finishedAt?: number;
  error?: string;
  backend: string;
  base?: SuiteResult;
  arms: ArmResult[];
  /** the arm being trained (resume point) */
  current?: string;
}

export interface ExperimentProgress {
  /** 0..1 over the whole experiment (estimated from measured step and eval times) */
  fraction: number;
  etaSeconds: number | null;
  phase: string;
  arm: string | null;
  step?: number;
  steps?: number;
  metrics?: StepMetrics;
}

/** What the environment (Node CLI or browser worker) provides. */
export interface ExperimentEnv {
  model: LoadedModel;
  /** the data root (public/data) */
  source: DataSource;
  store: ExperimentStore;
  backend: string;
  signal?: AbortSignal;
  onProgress?(p: ExperimentProgress): void;
  log?(s: string): void;
  /** called between steps (browser: yield to the message loop so cancel arrives) */
  yieldEvery?(): Promise<void>;
  /** called after an arm is trained, before its evaluation (Node: write the adapter / merged model and rows) */
  onArmTrained?(
    arm: Arm,
    out: {
      rows: TrainRow[];
      lora: LoraSnapshot;
      fullRank: FullRank | null;
      config: TrainConfig;
      /** for an arm with vocab: the extended model with its trained rows (export it merged) */
      model: LoadedModel | null;
    },
  ): Promise<void>;
}

export class CancelledError extends Error {
  override name = 'CancelledError';
}

/** The TrainConfig an arm trains with: the `train` command's defaults, the recipe budget, the arm's overrides. */
export function armConfig(recipe: Recipe, arm: Arm): TrainConfig {
  const b = recipe.budget;
  const { steps, batchSize, gradAccum } = armBudget(recipe, arm);
  const t = arm.train ?? {};
  const over: Partial<TrainConfig> = {
    steps,
    batchSize,
    gradAccum,
    maxSeqLen: b.maxSeqLen,
    lr: t.lr ?? b.lr,
    seed: b.seed,
  };
  for (const k of ['warmupSteps', 'weightDecay', 'clipNorm', 'beta', 'lambda', 'rowsLr'] as const)
    if (t[k] !== undefined) over[k] = t[k];
  const base = defaultTrainConfig(arm.objective);
  over.lora = { ...base.lora, init: 'gaussian', ...(t.lora ?? {}) };
  // full rank: no adapters (the LoRA list is empty); r stays valid for the config record
  if (t.fullRank) over.lora = { ...over.lora, targets: [] };
  if (arm.vocab?.rowsOnly) over.lora = { ...over.lora, targets: [] };
  return defaultTrainConfig(arm.objective, over);
}

const ckptKey = (armId: string) => `ckpt/${armId}`;

/**
 * The arm's checkpoint: stored as checkpoint.safetensors bytes (the page's and the CLI's format); a
 * record from before, a TrainCheckpoint object, is read as it is.
 */
async function readArmCheckpoint(
  store: ExperimentStore,
  id: string,
  armId: string,
): Promise<TrainCheckpoint | undefined> {
  const raw = await store.get<Uint8Array | TrainCheckpoint>(id, ckptKey(armId));
  if (!raw) return undefined;
  return raw instanceof Uint8Array ? (await checkpointFromBytes(raw, `${ckptKey(armId)}`)).checkpoint : raw;
}
const fullKey = (armId: string) => `full/${armId}`;
const carryKey = (armId: string) => `carry/${armId}`;

/** Starts (or resumes, when the store holds a running record under `id`) an experiment. */
export async function runExperiment(recipe: Recipe, id: string, env: ExperimentEnv): Promise<ExperimentState> {
  if (recipe.needs.length > 0)
    throw new Error(
      `recipe ${recipe.name} needs the ${recipe.needs.join(', ')} step, which this lab does not have yet`,
    );
  const log = env.log ?? (() => {});
  const prev = await env.store.get<ExperimentState>(id, 'state');
  const state: ExperimentState =
    prev && prev.status !== 'done'
      ? { ...prev, status: 'running', error: undefined }
      : { id, recipe, status: 'running', startedAt: Date.now(), backend: env.backend, arms: [] };
  if (prev && prev.status !== 'done')
    log(
      `resuming experiment ${id}: ${prev.arms.length} of ${recipe.arms.length} arms done${prev.current ? `, in arm ${prev.current}` : ''}`,
    );
  const save = () => env.store.set(id, 'state', state);
  await save();

  let corpusTexts: Promise<string[]> | null = null;
  const corpus = () => (corpusTexts ??= bundledCorpus(env.source));
  const sourceTexts = new Map<string, string>();
  const readText = async (file: string) => {
    if (!sourceTexts.has(file)) sourceTexts.set(file, decodeDataBytes(await env.source.read(file)));
    return sourceTexts.get(file) as string;
  };

  // --- time model for the overall bar: per-arm steps × measured s/step + one suite per arm ---
  const configs = recipe.arms.map((a) => armConfig(recipe, a));
  const started = Date.now();
  let secPerStep: number | null = null;
  let suiteSeconds: number | null = state.base?.seconds ?? null;
  const stepWeight = () => secPerStep ?? 5;
  const suiteWeight = () => suiteSeconds ?? 30;
  const total = () =>
    suiteWeight() * (1 + recipe.arms.length) + configs.reduce((s, c) => s + c.steps * stepWeight(), 0);
  const doneUntilArm = (i: number) =>
    suiteWeight() * (1 + i) + configs.slice(0, i).reduce((s, c) => s + c.steps * stepWeight(), 0);
  const report = (p: Omit<ExperimentProgress, 'fraction' | 'etaSeconds'>, done: number) => {
    const fraction = Math.min(1, done / total());
    const elapsed = (Date.now() - started) / 1000;
    const eta = fraction > 0.02 && elapsed > 1 ? (elapsed / fraction) * (1 - fraction) : null;
    env.onProgress?.({ ...p, fraction, etaSeconds: eta });
  };
  const check = () => {
    if (env.signal?.aborted) throw new CancelledError('experiment cancelled');
  };

  try {
    const data = await loadSuiteData(recipe.suite, env.source);
    if (!state.base) {
      report({ phase: 'evaluating the base model', arm: 'base' }, 0);
      state.base = await runSuite(env.model, null, recipe.suite, data, env.source, {
        signal: env.signal,
        onProgress: (p) => report({ phase: `base: ${p.what} ${p.done}/${p.total}`, arm: 'base' }, 0),
      });
      suiteSeconds = state.base.seconds;
      log(`base model evaluated in ${state.base.seconds.toFixed(1)} s`);
      await save();
    }
    for (let i = 0; i < recipe.arms.length; i++) {
      const arm = recipe.arms[i];
      if (state.arms.some((a) => a.id === arm.id)) continue;
      check();
      if (arm.vocab || arm.from)
        report(
          {
            phase: `${arm.label}: ${arm.vocab ? 'extending the vocabulary' : `starting from ${arm.from}`}`,
            arm: arm.id,
          },
          doneUntilArm(i),
        );
      const am = await armModel(env.model, recipe.arms, arm, recipe.budget.seed, corpus, (armId) =>
        env.store.get<ArmCarry>(id, carryKey(armId)),
      );
      const model = am.model;
      const cfg = am.trainRowsFrom === null ? configs[i] : { ...configs[i], trainRowsFrom: am.trainRowsFrom };
      let fullRank: FullRank | null = null;
      let trainer: Trainer | null = null;
      let trained: { embed: tf.Tensor2D; lmHead?: tf.Tensor2D } | null = null;
      try {
        const { rows } = armRows(
          await readText(arm.data.file),
          arm.data.file,
          arm.data.use,
          arm.data.rows,
          model.tokenizer.chatTemplate ?? null,
        );
        const ckpt = await readArmCheckpoint(env.store, id, arm.id);
        fullRank = arm.train?.fullRank ? new FullRank(model, arm.train.fullRank) : null;
        if (fullRank && ckpt) {
          const w = await env.store.get<Record<string, Float32Array>>(id, fullKey(arm.id));
          if (w) fullRank.load(w);
        }
        trainer = Trainer.create(model, rows, cfg, ckpt, fullRank ?? undefined);
        state.current = arm.id;
        await save();
        log(
          `${arm.id}: ${ckpt ? `resuming at step ${ckpt.step} of` : 'training'} ${cfg.steps} steps, ${cfg.objective}, ${trainer.usableRows} rows${fullRank ? `, full rank ${arm.train!.fullRank!.join(',')}` : ''}`,
        );
        const priorSeconds = ckpt ? ckpt.metrics.reduce((s, m) => s + m.ms / 1000, 0) : 0;
        const saveArm = async (t: Trainer) => {
          await env.store.set(id, ckptKey(arm.id), checkpointToBytes(await t.checkpoint(), { source: 'experiment' }));
          if (fullRank) await env.store.set(id, fullKey(arm.id), await fullRank.snapshot());
        };
        const outcome = await runTraining(trainer, {
          signal: env.signal,
          checkpointEvery: cfg.checkpointEvery,
          onStep: (m) => {
            secPerStep = secPerStep === null ? m.ms / 1000 : 0.8 * secPerStep + 0.2 * (m.ms / 1000);
            report(
              {
                phase: `${arm.label}: step ${m.step}/${cfg.steps}`,
                arm: arm.id,
                step: m.step,
                steps: cfg.steps,
                metrics: m,
              },
              doneUntilArm(i) + m.step * stepWeight(),
            );
          },
          // the arm's checkpoint every N steps and when cancelled (the finished arm's is deleted below)
          onCheckpoint: (reason, t) => (reason === 'end' || t.stepIndex === (ckpt?.step ?? 0) ? undefined : saveArm(t)),
          between: env.yieldEvery,
        });
        if (outcome.status === 'aborted') throw new CancelledError('experiment cancelled');
        const trainSeconds = priorSeconds + trainer.metrics.slice(ckpt?.step ?? 0).reduce((s, m) => s + m.ms / 1000, 0);
        const lora = await snapshotLora(trainer.lora);
        if (recipe.arms.some((a) => a.from === arm.id))
          await env.store.set(id, carryKey(arm.id), {
            lora,
            rows: trainer.rows ? await trainer.rows.snapshot() : null,
          } satisfies ArmCarry);
        trained = trainer.rows ? trainer.rows.merged() : null;
        const evalModel = trained ? withRows(model, trained) : model;
        await env.onArmTrained?.(arm, { rows, lora, fullRank, config: cfg, model: trained ? evalModel : null });
        report({ phase: `${arm.label}: evaluating`, arm: arm.id }, doneUntilArm(i) + cfg.steps * stepWeight());
        const ev = await runSuite(evalModel, trainer.lora, recipe.suite, data, env.source, {
          signal: env.signal,
          onProgress: (p) =>
            report(
              { phase: `${arm.label}: ${p.what} ${p.done}/${p.total}`, arm: arm.id },
              doneUntilArm(i) + cfg.steps * stepWeight(),
            ),
        });
        suiteSeconds = suiteSeconds === null ? ev.seconds : (suiteSeconds + ev.seconds) / 2;
        const newRows = trainer.rows ? model.config.vocabSize - trainer.rows.start : 0;
        const params =
          (fullRank?.size ?? 0) +
          Object.values(lora.tensors).reduce((s, t) => s + t.A.length + t.B.length, 0) +
          newRows * model.config.dim * (trainer.rows?.head ? 2 : 1);
        const loraMethod = cfg.lora.targets.length ? `LoRA r=${cfg.lora.r} (${cfg.lora.targets.join(', ')})` : '';
        state.arms.push({
          id: arm.id,
          label: arm.label,
          objective: arm.objective,
          method: fullRank
            ? `full rank (${arm.train!.fullRank!.join(', ')})`
            : arm.vocab
              ? `${arm.vocab.init} init, ${newRows} new rows${loraMethod ? ` + ${loraMethod}` : ''}`
              : loraMethod,
          config: cfg,
          rows: { requested: arm.data.rows ?? null, used: trainer.usableRows, skipped: trainer.skipped.length },
          metrics: trainer.metrics.slice(),
          trainSeconds,
          eval: ev,
          params,
          ...(arm.vocab && am.trainRowsFrom !== null
            ? {
                vocab: {
                  add: arm.vocab.add,
                  init: arm.vocab.init,
                  oldVocab: am.trainRowsFrom,
                  vocabSize: model.config.vocabSize,
                },
              }
            : {}),
        });
        state.current = undefined;
        await save();
        await env.store.del(id, ckptKey(arm.id));
        await env.store.del(id, fullKey(arm.id));
        log(`${arm.id}: trained in ${trainSeconds.toFixed(1)} s, evaluated in ${ev.seconds.toFixed(1)} s`);
      } finally {
        trainer?.dispose();
        fullRank?.detach();
        trained?.embed.dispose();
        trained?.lmHead?.dispose();
        am.dispose();
      }
    }
    state.status = 'done';
    state.finishedAt = Date.now();
    await save();
    report({ phase: 'done', arm: null }, total());
    return state;
  } catch (e) {
    state.status = e instanceof CancelledError || env.signal?.aborted ? 'cancelled' : 'failed';
    state.error = e instanceof Error ? e.message : String(e);
    await save();
    throw e;
  }
}
