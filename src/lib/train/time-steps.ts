/**
 * Times a few warm training steps of a trainer: what "auto" measures per backend
 * (src/lib/backend/auto-pick.ts). The steps run through the one training loop (./run-training.ts),
 * stopped by its signal.
 *
 *   const { tokensPerS, msPerStep } = await timeWarmSteps(trainer, { warmup: 1, steps: 2 });
 */
import type { StepCounts, StepTiming } from '../backend/auto-pick';
import { runTraining, type SteppedTrainer } from './run-training';

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/**
 * Runs `warmup` untimed then `steps` timed steps; tokens/s and ms per step over the timed ones. Past
 * `budgetMs` no further step starts: the figure is then from the timed steps done, or from the warm-up
 * (`cold`) when none was. A trainer that reaches its last step ends the timing there.
 */
export async function timeWarmSteps(
  trainer: SteppedTrainer,
  counts: StepCounts = {},
  onStep?: (done: number, of: number) => void,
): Promise<StepTiming> {
  const warmup = counts.warmup ?? 1;
  const steps = Math.max(1, counts.steps ?? 2);
  const budget = counts.budgetMs ?? 30_000;
  const start = now();
  const stop = new AbortController();
  let last = start;
  let done = 0;
  const cold = { tokens: 0, ms: 0 };
  const warm = { tokens: 0, ms: 0 };
  await runTraining(trainer, {
    signal: stop.signal,
    onStep: (m) => {
      const t = now();
      const into = done < warmup ? cold : warm;
      into.tokens += m.tokens;
      into.ms += t - last;
      last = t;
      done++;
      onStep?.(done, warmup + steps);
      if (done >= warmup + steps || t - start > budget) stop.abort();
    },
  });
  const timed = Math.max(0, done - warmup);
  const use = timed > 0 ? warm : cold;
  return {
    tokensPerS: use.tokens / (Math.max(use.ms, 1e-3) / 1000),
    msPerStep: use.ms / Math.max(1, timed > 0 ? timed : done),
    ...(timed > 0 ? {} : { cold: true }),
  };
}
