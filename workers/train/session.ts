/**
 * One training run inside the worker: the training loop (src/lib/train/run-training.ts) with
 * pause/resume/stop, per-step events, checkpoints every N steps and at pause/stop/end, persisted in
 * RunStore (IndexedDB). Setting `phase` away from 'running' aborts the loop, which checkpoints and returns.
 */
import type { LoadedModel } from '../../src/lib/model/model';
import type { TrainRow } from '../../src/lib/data/rows';
import type { StepMetrics, TrainCheckpoint, TrainConfig } from '../../src/lib/train/types';
import { Trainer } from '../../src/lib/train/trainer';
import { runTraining } from '../../src/lib/train/run-training';
import { RunStore, type RunRecord } from '../../src/lib/store/runs';
import type { RunPhase, WorkerEvent } from './protocol';
import { yieldToMessages } from '../host/lock';
import { tensorStats } from '../host/boot';

type Post = (e: WorkerEvent) => void;
type Exclusive = <T>(fn: () => Promise<T>) => Promise<T>;

export class TrainSession {
  private phase_: RunPhase = 'paused';
  /** aborts the running loop (pause, stop) */
  private abort: AbortController | null = null;
  private looping = false;
  private stepMs: number[] = [];

  private constructor(
    readonly runId: string,
    readonly trainer: Trainer,
    readonly config: TrainConfig,
    private readonly runs: RunStore,
    private readonly post: Post,
    private readonly exclusive: Exclusive,
  ) {}

  /** Builds the trainer (from a checkpoint when given) and marks the stored run as running. */
  static async open(opts: {
    record: RunRecord;
    model: LoadedModel;
    rows: TrainRow[];
    config: TrainConfig;
    checkpoint?: TrainCheckpoint;
    runs: RunStore;
    post: Post;
    exclusive: Exclusive;
  }): Promise<TrainSession> {
    const trainer = await opts.exclusive(async () =>
      Trainer.create(opts.model, opts.rows, opts.config, opts.checkpoint),
    );
    const s = new TrainSession(opts.record.id, trainer, opts.config, opts.runs, opts.post, opts.exclusive);
    const history: StepMetrics[] = opts.checkpoint?.metrics ?? [];
    opts.post({
      type: 'log',
      level: 'info',
      runId: s.runId,
      message: opts.checkpoint
        ? `Resuming ${opts.record.name} from its checkpoint at step ${opts.checkpoint.step}`
        : `Starting ${opts.record.name}: ${opts.config.objective}, ${opts.rows.length} rows, ${opts.config.steps} steps`,
      history,
    });
    return s;
  }

  get phase(): RunPhase {
    return this.phase_;
  }
  /** 'paused' or 'stopped' while the loop runs: it stops before its next step and checkpoints. */
  set phase(p: RunPhase) {
    this.phase_ = p;
    if (p !== 'running') this.abort?.abort();
  }

  /** Starts or continues the step loop; returns when the run pauses, stops or finishes. */
  async run(): Promise<void> {
    const totalSteps = this.config.steps;
    const checkpointEvery = this.config.checkpointEvery;
    if (this.looping) return;
    this.looping = true;
    this.phase = 'running';
    this.abort = new AbortController();
    await this.runs.update(this.runId, { status: 'running' });
    this.progress(totalSteps);
    try {
      await runTraining(this.trainer, {
        signal: this.abort.signal,
        exclusive: this.exclusive,
        checkpointEvery,
        onStep: (m) => {
          this.stepMs.push(m.ms);
          if (this.stepMs.length > 20) this.stepMs.shift();
          this.post({ type: 'metrics', runId: this.runId, metrics: m });
          this.progress(totalSteps, m.tokens_per_s);
        },
        onCheckpoint: () => this.saveCheckpoint(),
        between: yieldToMessages,
      });
      // phase may have been changed by pause/stop messages while awaiting
      let ended = this.phase as RunPhase;
      if (this.trainer.done && ended === 'running') ended = 'completed';
      if (ended === 'running') ended = 'paused';
      this.phase = ended;
      await this.runs.update(this.runId, { status: ended, metrics: this.trainer.metrics });
      this.progress(totalSteps);
      if (ended === 'completed' || ended === 'stopped') {
        this.post({ type: 'done', what: 'train', runId: this.runId, phase: ended, step: this.trainer.stepIndex });
      }
    } catch (err) {
      this.phase = 'failed';
      const message = err instanceof Error ? err.message : String(err);
      await this.runs.update(this.runId, { status: 'failed', error: message }).catch(() => undefined);
      this.progress(totalSteps);
      this.post({
        type: 'error',
        runId: this.runId,
        message: `Run failed at step ${this.trainer.stepIndex + 1}: ${message}`,
      });
    } finally {
      this.looping = false;
    }
  }

  get isLooping(): boolean {
    return this.looping;
  }

  /** Checkpoint to IndexedDB; storage errors are reported but do not stop training. */
  async saveCheckpoint(): Promise<void> {
    try {
      const ckpt = await this.exclusive(async () => this.trainer.checkpoint());
      await this.runs.saveCheckpoint(this.runId, ckpt);
      this.post({ type: 'checkpoint', runId: this.runId, step: ckpt.step });
    } catch (err) {
      this.post({
        type: 'error',
        runId: this.runId,
        message: `Checkpoint not saved: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }

  progress(total = this.config.steps, tokensPerS = this.trainer.metrics.at(-1)?.tokens_per_s ?? 0): void {
    const step = this.trainer.stepIndex;
    const avg = this.stepMs.length ? this.stepMs.reduce((a, b) => a + b, 0) / this.stepMs.length : 0;
    const etaS = avg > 0 && this.phase === 'running' ? ((total - step) * avg) / 1000 : null;
    this.post({
      type: 'progress',
      runId: this.runId,
      phase: this.phase,
      step,
      total,
      tokensPerS,
      etaS,
      tensors: tensorStats(),
    });
  }

  dispose(): void {
    this.trainer.dispose();
  }
}
