import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../model/model';
import type { TrainRow, RowError, RowSource } from '../data/rows';
import type { LoraState } from '../lora/types';
import { createLora, loraFromSnapshot, loraVariables, snapshotLora, disposeLora, withAdapterOff } from '../lora/lora';
import { getObjective, type Objective } from '../objectives';
import { disposeBatch, packBatch, type TokenizedSeq } from '../model/batch';
import { sequenceLogprobs } from '../model/logprobs';
import { ReferenceCache, frozenReferenceModel, type PendingReference } from '../objectives/reference-cache';
import { asDeviceLost } from '../backend/webgpu-device';
import type { ModelLike } from '../model/forward';
import { AdamW } from './adamw';
import { gradNorm, GRAD_STATS } from '../model/kernels/grad-norm/grad-norm';
import { EpochSampler } from './sampler';
import { cosineWithWarmup } from './schedule';
import type { StepMetrics, TrainCheckpoint, TrainConfig } from './types';
import { TrainableRows, type RowsSnapshot } from './trainable-rows';
import { trainItems, type TokenizeMode, type TrainItems } from './train-items';

export interface TrainerOptions {
  /** 'auto' (default): rows are tokenized up front up to EAGER_MAX_CHARS of text, as batches need them above */
  tokenize?: TokenizeMode;
  /** lazy path: token ids kept in the cache of tokenized rows (default LAZY_CACHE_IDS) */
  cacheIds?: number;
}

/** Training stopped at a step whose loss or gradient norm is NaN or ±Inf; the adapter keeps the last finite weights. */
export class NonFiniteError extends Error {
  constructor(
    message: string,
    readonly step: number,
  ) {
    super(message);
    this.name = 'NonFiniteError';
  }
}

/** The stop message for a non-finite loss or gradient norm at `step` (1-based), or null when both are finite. */
export function nonFiniteMessage(
  step: number,
  loss: number,
  gradNorm: number,
  lr: number,
  cfg: Pick<TrainConfig, 'objective' | 'beta' | 'lr'>,
): string | null {
  if (Number.isFinite(loss) && Number.isFinite(gradNorm)) return null;
  const what = !Number.isFinite(loss) ? `loss is ${loss}` : `gradient norm is ${gradNorm}`;
  const beta = cfg.objective === 'dpo' || cfg.objective === 'clo' ? `, or β (${cfg.beta}) too large` : '';
  return `training stopped at step ${step}: ${what}; likely cause: learning rate too high (peak ${cfg.lr}, this step ${lr.toExponential(2)})${beta}; nothing from this step was applied`;
}

/**
 * Extra trainable weights beside the LoRA adapters (full-rank modules, train/full-rank.ts): their
 * variables join the optimizer (AdamW state under `keys`), and `reference` runs the reference pass
 * on the frozen originals.
 */
export interface TrainerExtras {
  keys: string[];
  vars: tf.Variable[];
  reference<T>(fn: () => T): T;
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/**
 * The training loop, one optimizer step per call to step(). Knows nothing about which objective runs:
 * it tokenizes the sequences the objective asks for, computes policy (and, if needed, reference =
 * adapter-off) log-probs, and minimises the objective's loss over the LoRA variables only.
 * Each step's logged loss is computed on that step's batch before its update.
 */
export class Trainer {
  readonly metrics: StepMetrics[] = [];
  private readonly objective: Objective;
  /** the rows as token sequences: tokenized up front, or as batches need them (train-items.ts) */
  private readonly items: TrainItems;
  private readonly sampler: EpochSampler;
  private readonly vars: tf.Variable[];
  private readonly keys: string[];
  private readonly opt: AdamW;
  private step_ = 0;
  /**
   * Reference log-probs (DPO, CLO) computed once per sequence from the weights as at the start of the
   * run and carried in checkpoints; null = recompute every step (tests compare the two).
   */
  referenceCache: ReferenceCache | null = new ReferenceCache();
  private readonly refModel: ModelLike;
  private readonly refOwned: tf.Tensor[];
  /** trainable embedding rows (config.trainRowsFrom), null when the embeddings are frozen */
  readonly rows: TrainableRows | null;

  private constructor(
    readonly model: LoadedModel,
    rows: TrainRow[] | RowSource,
    readonly config: TrainConfig,
    readonly lora: LoraState,
    private readonly extras: TrainerExtras | undefined,
    resumeRows: RowsSnapshot | undefined,
    opts: TrainerOptions,
  ) {
    this.objective = getObjective(config.objective);
    const maxLen = Math.min(config.maxSeqLen, model.config.maxSeqLen);
    this.items = trainItems(this.objective, model.tokenizer, rows, maxLen, opts.tokenize ?? 'auto', opts.cacheIds);
    this.sampler = new EpochSampler(this.items.count, config.seed);
    this.keys = [];
    for (const k of lora.adapters.keys()) this.keys.push(`${k}.A`, `${k}.B`);
    this.vars = loraVariables(lora);
    if (extras) {
      this.keys.push(...extras.keys);
      this.vars.push(...extras.vars);
    }
    this.rows =
      config.trainRowsFrom !== undefined ? TrainableRows.create(model, config.trainRowsFrom, resumeRows) : null;
    if (this.rows) {
      this.keys.push(...this.rows.keys);
      this.vars.push(...this.rows.vars);
    }
    this.opt = new AdamW(this.vars);
    const frozen = frozenReferenceModel(model);
    this.refModel = frozen.model;
    this.refOwned = frozen.owned;
  }

  static create(
    model: LoadedModel,
    rows: TrainRow[] | RowSource,
    config: TrainConfig,
    resumeFrom?: TrainCheckpoint,
    extras?: TrainerExtras,
    opts: TrainerOptions = {},
  ): Trainer {
    const lora = resumeFrom ? loraFromSnapshot(resumeFrom.lora) : createLora(model.config, config.lora, config.seed);
    const t = new Trainer(model, rows, resumeFrom ? resumeFrom.config : config, lora, extras, resumeFrom?.rows, opts);
    if (resumeFrom) {
      t.opt.importState(t.keys, resumeFrom.optimizer);
      t.step_ = resumeFrom.step;
      t.metrics.push(...resumeFrom.metrics.slice(0, resumeFrom.step));
      t.referenceCache?.import(resumeFrom.reference);
    }
    return t;
  }

  get stepIndex(): number {
    return this.step_;
  }
  get done(): boolean {
    return this.step_ >= this.config.steps;
  }
  /** usable items (up front); with lazy tokenization, rows not found unusable so far */
  get usableRows(): number {
    return this.items.usable;
  }
  /** rows left out (wrong kind for the objective, or too long), with 1-based row numbers; lazily: those met so far */
  get skipped(): RowError[] {
    return this.items.skipped;
  }
  /** true when rows are tokenized as batches need them (large data), false when all were tokenized up front */
  get lazyTokenization(): boolean {
    return this.items.lazy;
  }

  /**
   * One optimizer step. `microBatches` (benchmarks, tests) overrides the sampler: one list of
   * tokenized sequences per micro-batch, in the order the objective's sequences() defines.
   * Reads back from the backend once (loss, metrics, gradient norm, and the reference log-probs
   * computed in this step), asynchronously. On WebGPU a lost device ends the step with a
   * DeviceLostError (src/lib/backend/webgpu-device.ts).
   */
  async step(microBatches?: TokenizedSeq[][]): Promise<StepMetrics> {
    try {
      return await this.stepOnce(microBatches);
    } catch (e) {
      throw (await asDeviceLost(e, `training step ${this.step_ + 1}`)) ?? e;
    }
  }

  private async stepOnce(microBatches?: TokenizedSeq[][]): Promise<StepMetrics> {
    const cfg = this.config;
    const t0 = now();
    const lr = cosineWithWarmup(this.step_, cfg.steps, cfg.lr, cfg.warmupSteps, cfg.minLrRatio);
    const params = { beta: cfg.beta, lambda: cfg.lambda };
    // the gradients of all variables as one flat vector (AdamW.flatten), summed over the micro-batches
    let gradSum: tf.Tensor1D | null = null;
    let metricSum: tf.Tensor1D | null = null;
    let metricNames: string[] = [];
    let tokens = 0;
    const pending: PendingReference[] = [];
    const micro = microBatches ? microBatches.length : Math.max(1, cfg.gradAccum);
    for (let m = 0; m < micro; m++) {
      const seqs = microBatches
        ? microBatches[m]
        : this.sampler
            .batch(this.step_ * micro + m, cfg.batchSize)
            .flatMap((r, k) => this.items.seqs(r, (this.step_ * micro + m) * cfg.batchSize + k));
      const batch = packBatch(seqs, Math.min(cfg.maxSeqLen, this.model.config.maxSeqLen));
      tokens += batch.tokens;
      const counts = tf.tensor1d(batch.counts);
      // the reference reads the embedding rows as they were at the start (refModel), never the trained ones
      const reference = this.objective.needsReference ? this.reference(seqs, batch, pending) : null;
      let stacked: tf.Tensor1D | null = null;
      const dropoutSeed = (cfg.seed * 100003 + this.step_ * micro + m) >>> 0;
      const { value, grads } = tf.variableGrads(
        () =>
          this.withRows(() => {
            const policy = sequenceLogprobs(this.model, batch, this.lora, true, dropoutSeed, {
              checkpointing: cfg.checkpointing,
            });
            const out = this.objective.loss({ policy, reference, counts }, params);
            metricNames = Object.keys(out.metrics);
            stacked = tf.keep(
              out.stacked ?? (tf.stack([out.loss, ...metricNames.map((k) => out.metrics[k])]) as tf.Tensor1D),
            );
            return out.loss;
          }),
        this.vars,
      );
      value.dispose();
      reference?.dispose();
      counts.dispose();
      disposeBatch(batch);
      const gl = AdamW.flatten(this.vars.map((v) => grads[v.name]));
      tf.dispose(grads);
      if (!gradSum) gradSum = gl;
      else {
        const next = tf.add(gradSum, gl) as tf.Tensor1D;
        gradSum.dispose();
        gl.dispose();
        gradSum = next;
      }
      if (!metricSum) metricSum = stacked!;
      else {
        const next = tf.add(metricSum, stacked!) as tf.Tensor1D;
        metricSum.dispose();
        (stacked as unknown as tf.Tensor).dispose();
        metricSum = next;
      }
    }
    let grads = gradSum!;
    if (micro > 1) {
      const scaled = tf.div(grads, micro) as tf.Tensor1D;
      grads.dispose();
      grads = scaled;
    }
    // The flat gradient and the flat weights (as the previous update left them) serve the statistics
    // and the update: the norm, the clip scale and whether each is finite come from one op
    // (model/kernels/grad-norm/), read before the update so a non-finite step never reaches the adapter.
    const weights = this.opt.flatVars();
    const stats = gradNorm(grads, weights, cfg.clipNorm);
    const nv = metricNames.length + 1;
    // one read: the metrics, the statistics, then the reference log-probs computed in this step
    const readout = tf.tidy(() =>
      tf.concat([micro > 1 ? tf.div(metricSum!, micro) : metricSum!, stats, ...pending.map((p) => p.values)]),
    );
    let all: Float32Array;
    try {
      all = (await readout.data()) as Float32Array;
    } finally {
      readout.dispose();
      metricSum!.dispose();
      pending.forEach((p) => p.values.dispose());
    }
    let at = nv + 4;
    for (const p of pending) {
      this.referenceCache!.store(p, all.subarray(at, at + p.seqs.length));
      at += p.seqs.length;
    }
    const vals = all.slice(0, nv);
    const norm = all[nv + GRAD_STATS.norm];
    // a non-finite element of the gradient makes the norm non-finite; the flag says so whatever the sum
    const gradNormRead = all[nv + GRAD_STATS.gradsFinite] === 1 || !Number.isFinite(norm) ? norm : NaN;
    const weightsOk = all[nv + GRAD_STATS.weightsFinite] === 1;
    const bad = weightsOk
      ? nonFiniteMessage(this.step_ + 1, vals[0], gradNormRead, lr, cfg)
      : `training stopped at step ${this.step_ + 1}: the adapter weights are no longer finite after step ${this.step_}'s update; likely cause: learning rate too high (peak ${cfg.lr})`;
    if (bad) {
      tf.dispose([grads, weights, stats]);
      throw new NonFiniteError(bad, this.step_ + 1);
    }
    // the statistics' first element is the clip scale, which the update reads as it is
    this.opt.applyFlat(grads, weights, this.rates(lr), cfg.weightDecay, stats);
    tf.dispose([grads, weights, stats]);
    const ms = now() - t0;
    const rec: StepMetrics = {
      step: this.step_ + 1,
      loss: vals[0],
      lr,
      grad_norm: gradNormRead,
      tokens_per_s: tokens / (ms / 1000),
      tokens,
      ms,
    };
    metricNames.forEach((k, i) => ((rec as unknown as Record<string, number>)[k] = vals[i + 1]));
    this.step_ += 1;
    this.metrics.push(rec);
    return rec;
  }

  /**
   * Reference (adapter off, no dropout) Σ response log-probs of a micro-batch: cached, or computed now
   * (those join `pending`, to be read with the step's metrics and stored in the cache then).
   */
  private reference(
    seqs: TokenizedSeq[],
    batch: ReturnType<typeof packBatch>,
    pending: PendingReference[],
  ): tf.Tensor1D {
    // Full-rank modules (extras) swap their original weights back in on the live model; everything
    // else reads the weights as they were at the start (refModel).
    const score = (b: ReturnType<typeof packBatch>) =>
      tf.tidy(() =>
        withAdapterOff(this.lora, () =>
          this.extras
            ? this.extras.reference(() => sequenceLogprobs(this.model, b, this.lora, false))
            : sequenceLogprobs(this.refModel, b, this.lora, false),
        ),
      );
    if (!this.referenceCache) return score(batch);
    const maxLen = Math.min(this.config.maxSeqLen, this.model.config.maxSeqLen);
    const { ref, pending: p } = this.referenceCache.lookupDeferred(seqs, (missing) => {
      // All of the micro-batch missing (the usual first epoch): score the batch already packed.
      if (missing.length === seqs.length) return score(batch);
      const sub = packBatch(missing, maxLen);
      try {
        return score(sub);
      } finally {
        disposeBatch(sub);
      }
    });
    if (p) pending.push(p);
    return ref;
  }

  /**
   * The step's learning rate per variable: `lr` (the schedule at config.lr) for the adapter, the same
   * schedule at config.rowsLr for the trainable embedding rows when the run sets its own rate for them.
   */
  private rates(lr: number): number | number[] {
    const cfg = this.config;
    if (!this.rows || cfg.rowsLr === undefined || cfg.rowsLr === cfg.lr) return lr;
    const rowsLr = cosineWithWarmup(this.step_, cfg.steps, cfg.rowsLr, cfg.warmupSteps, cfg.minLrRatio);
    const nRows = this.rows.vars.length;
    return this.vars.map((_, i) => (i >= this.vars.length - nRows ? rowsLr : lr));
  }

  /** Runs fn with the trainable embedding rows swapped into the model (call inside a tape or tidy). */
  private withRows<T>(fn: () => T): T {
    const undo = this.rows?.install(this.model);
    try {
      return fn();
    } finally {
      undo?.();
    }
  }

  async checkpoint(): Promise<TrainCheckpoint> {
    return {
      step: this.step_,
      config: this.config,
      lora: await snapshotLora(this.lora),
      optimizer: await this.opt.exportState(this.keys),
      metrics: this.metrics.slice(),
      ...(this.referenceCache && this.referenceCache.size > 0 ? { reference: this.referenceCache.export() } : {}),
      ...(this.rows ? { rows: await this.rows.snapshot() } : {}),
    };
  }

  dispose(): void {
    this.refOwned.forEach((t) => t.dispose());
    this.opt.dispose();
    disposeLora(this.lora);
    this.rows?.dispose();
  }
}
