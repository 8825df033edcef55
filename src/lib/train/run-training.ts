/**
 * The one training loop: steps a Trainer until it is done or the signal aborts, with hooks around each
 * step. Every caller (the page's train worker, the CLI, the experiment runner, the vocabulary view's
 * continued pretraining) drives its run through this function; pausing is `signal` plus the checkpoint
 * taken on abort, and a resumed Trainer continues its own step numbering (Trainer.create from a checkpoint).
 *
 * Order per step: `signal` checked (aborted → onCheckpoint('abort'), return) → step → onStep →
 * onCheckpoint('every') when the step is a multiple of `checkpointEvery`, not the last, and the signal has
 * not aborted (the abort checkpoint follows) → between.
 * After the last step: onCheckpoint('end').
 */
import type { StepMetrics } from './types';

/** Why a checkpoint is asked for: every N steps, the run stopped by its signal, or the run finished. */
export type CheckpointReason = 'every' | 'abort' | 'end';

/** What the loop needs of a trainer (src/lib/train/trainer.ts Trainer). */
export interface SteppedTrainer {
  readonly done: boolean;
  readonly stepIndex: number;
  step(): Promise<StepMetrics>;
}

export interface TrainingHooks<T extends SteppedTrainer = SteppedTrainer> {
  /** after each step, with its metrics */
  onStep?(metrics: StepMetrics, trainer: T): void | Promise<void>;
  /** ask for a checkpoint every N steps (0 or absent: only on abort and at the end) */
  checkpointEvery?: number;
  onCheckpoint?(reason: CheckpointReason, trainer: T): void | Promise<void>;
  /** checked before every step: once aborted, the loop checkpoints and returns */
  signal?: AbortSignal;
  /** runs each step (a lock shared with other work on the same tfjs backend) */
  exclusive?: <R>(fn: () => Promise<R>) => Promise<R>;
  /** awaited after each step (a yield so that messages and signals arrive between steps) */
  between?(): Promise<void>;
}

export interface TrainingOutcome {
  /** 'done': the trainer reached its last step; 'aborted': the signal stopped it */
  status: 'done' | 'aborted';
  /** steps taken by this call */
  steps: number;
}

/** Steps `trainer` to its last step or until `signal` aborts; a step's error propagates after no checkpoint. */
export async function runTraining<T extends SteppedTrainer>(
  trainer: T,
  hooks: TrainingHooks<T> = {},
): Promise<TrainingOutcome> {
  const every = hooks.checkpointEvery ?? 0;
  const step = () => trainer.step();
  let steps = 0;
  while (!trainer.done) {
    if (hooks.signal?.aborted) {
      await hooks.onCheckpoint?.('abort', trainer);
      return { status: 'aborted', steps };
    }
    const m = await (hooks.exclusive ? hooks.exclusive(step) : step());
    steps++;
    await hooks.onStep?.(m, trainer);
    // an aborted run checkpoints once, at the top of the loop
    if (every > 0 && trainer.stepIndex % every === 0 && !trainer.done && !hooks.signal?.aborted)
      await hooks.onCheckpoint?.('every', trainer);
    await hooks.between?.();
  }
  await hooks.onCheckpoint?.('end', trainer);
  return { status: 'done', steps };
}
