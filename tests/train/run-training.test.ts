/**
 * runTraining, the one training loop: hook order, checkpoint every N steps (never on the last step),
 * abort → one checkpoint and return, resume continuing the trainer's step numbering, and a step's error
 * propagating. A scripted trainer stands in for Trainer (the loop only needs done, stepIndex and step()).
 */
import { describe, expect, it } from 'vitest';
import { runTraining, type SteppedTrainer } from '../../src/lib/train/run-training';
import type { StepMetrics } from '../../src/lib/train/types';

class FakeTrainer implements SteppedTrainer {
  stepIndex: number;
  constructor(
    readonly total: number,
    from = 0,
    readonly log: string[] = [],
    readonly failAt = -1,
  ) {
    this.stepIndex = from;
  }
  get done() {
    return this.stepIndex >= this.total;
  }
  async step(): Promise<StepMetrics> {
    if (this.stepIndex + 1 === this.failAt) throw new Error(`boom at ${this.failAt}`);
    this.stepIndex++;
    this.log.push(`step ${this.stepIndex}`);
    const s = this.stepIndex;
    return { step: s, loss: 1 / s, lr: 0, grad_norm: 0, tokens_per_s: 0, tokens: 0, ms: 0 };
  }
}

describe('runTraining', () => {
  it('calls step, onStep, the periodic checkpoint and between in that order, and checkpoints at the end', async () => {
    const t = new FakeTrainer(5);
    const out = await runTraining(t, {
      checkpointEvery: 2,
      onStep: (m) => void t.log.push(`onStep ${m.step}`),
      onCheckpoint: (why, tr) => void t.log.push(`ckpt ${why} ${tr.stepIndex}`),
      between: async () => void t.log.push('between'),
    });
    expect(out).toEqual({ status: 'done', steps: 5 });
    expect(t.log).toEqual([
      ...['step 1', 'onStep 1', 'between'],
      ...['step 2', 'onStep 2', 'ckpt every 2', 'between'],
      ...['step 3', 'onStep 3', 'between'],
      ...['step 4', 'onStep 4', 'ckpt every 4', 'between'],
      // step 5 is the last: no periodic checkpoint, the end one instead
      ...['step 5', 'onStep 5', 'between'],
      'ckpt end 5',
    ]);
  });

  it('checkpointEvery 0 or absent: only the end checkpoint', async () => {
    for (const every of [0, undefined]) {
      const reasons: string[] = [];
      await runTraining(new FakeTrainer(4), { checkpointEvery: every, onCheckpoint: (w) => void reasons.push(w) });
      expect(reasons).toEqual(['end']);
    }
  });

  it('an abort stops before the next step, checkpoints once and returns aborted', async () => {
    const stop = new AbortController();
    const t = new FakeTrainer(10);
    const out = await runTraining(t, {
      signal: stop.signal,
      checkpointEvery: 3,
      onStep: (m) => {
        if (m.step === 3) stop.abort();
      },
      onCheckpoint: (why, tr) => void t.log.push(`ckpt ${why} ${tr.stepIndex}`),
    });
    expect(out).toEqual({ status: 'aborted', steps: 3 });
    // step 3 is a multiple of 3, but the abort's checkpoint is the only one
    expect(t.log).toEqual(['step 1', 'step 2', 'step 3', 'ckpt abort 3']);
  });

  it('a signal aborted before the start takes no step', async () => {
    const stop = new AbortController();
    stop.abort();
    const t = new FakeTrainer(3);
    const out = await runTraining(t, { signal: stop.signal });
    expect(out).toEqual({ status: 'aborted', steps: 0 });
    expect(t.stepIndex).toBe(0);
  });

  it('a resumed trainer continues its step numbering; checkpointEvery counts from step 0 of the run', async () => {
    const t = new FakeTrainer(7, 4);
    const seen: number[] = [];
    const ckpts: number[] = [];
    const out = await runTraining(t, {
      checkpointEvery: 3,
      onStep: (m) => void seen.push(m.step),
      onCheckpoint: (_w, tr) => void ckpts.push(tr.stepIndex),
    });
    expect(out.steps).toBe(3);
    expect(seen).toEqual([5, 6, 7]);
    expect(ckpts).toEqual([6, 7]);
  });

  it('runs each step through `exclusive`', async () => {
    const t = new FakeTrainer(2);
    await runTraining(t, {
      exclusive: async (fn) => {
        t.log.push('lock');
        return fn();
      },
    });
    expect(t.log).toEqual(['lock', 'step 1', 'lock', 'step 2']);
  });

  it("a step's error propagates with no checkpoint", async () => {
    const reasons: string[] = [];
    const t = new FakeTrainer(5, 0, [], 3);
    await expect(runTraining(t, { onCheckpoint: (w) => void reasons.push(w) })).rejects.toThrow('boom at 3');
    expect(t.stepIndex).toBe(2);
    expect(reasons).toEqual([]);
  });
});
