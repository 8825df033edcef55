/**
 * Resume equivalence in Node: N steps in one go equal k steps, a checkpoint (structured-cloned, as
 * IndexedDB stores it), a fresh Trainer restored from it, then N − k steps. Same LoRA weights, Adam
 * moments and per-step losses within 1e-6 (the data order is a pure function of seed and step).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDataFile } from '../../src/lib/data/index';
import { Trainer } from '../../src/lib/train/trainer';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import type { TrainCheckpoint } from '../../src/lib/train/types';
import type { LoadedModel } from '../../src/lib/model/model';
import { loadStories, ROOT } from '../helpers/helpers';
import { installLabKernels } from '../../src/lib/model/kernels/install';

installLabKernels('wasm');

const N = 4;
const K = 2;

function maxDiff(a: Record<string, Float32Array>, b: Record<string, Float32Array>): number {
  let d = 0;
  expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  for (const k of Object.keys(a)) for (let i = 0; i < a[k].length; i++) d = Math.max(d, Math.abs(a[k][i] - b[k][i]));
  return d;
}

const flat = (c: TrainCheckpoint) =>
  Object.fromEntries(
    Object.entries(c.lora.tensors).flatMap(
      ([k, t]) =>
        [
          [`${k}.A`, t.A],
          [`${k}.B`, t.B],
        ] as [string, Float32Array][],
    ),
  );

describe('resume from a checkpoint continues on the same trajectory (stories260K, wasm, CLO)', () => {
  let m: LoadedModel;
  beforeAll(async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    m = loadStories();
  });

  it(`${N} steps = ${K} steps + checkpoint + restore + ${N - K} steps`, async () => {
    const text = readFileSync(resolve(ROOT, 'public/data/instructions/paired_alpaca_koalpaca_en_ko.jsonl'), 'utf8');
    const rows = parseDataFile(text, 'pairs.jsonl', { expect: 'clo' }).rows.slice(0, 12);
    const cfg = defaultTrainConfig('clo', {
      steps: N,
      batchSize: 2,
      maxSeqLen: 48,
      lr: 5e-3,
      warmupSteps: 1,
      seed: 11,
      checkpointEvery: 0,
    });

    const straight = Trainer.create(m, rows, cfg);
    while (!straight.done) await straight.step();
    const a = await straight.checkpoint();
    straight.dispose();

    const first = Trainer.create(m, rows, cfg);
    for (let s = 0; s < K; s++) await first.step();
    const mid = structuredClone(await first.checkpoint());
    first.dispose();
    const resumed = Trainer.create(m, rows, cfg, mid);
    expect(resumed.stepIndex).toBe(K);
    while (!resumed.done) await resumed.step();
    const b = await resumed.checkpoint();
    resumed.dispose();

    expect(b.step).toBe(N);
    // the run moved: otherwise equality would prove nothing
    expect(maxDiff(flat(a), flat(mid))).toBeGreaterThan(1e-4);
    expect(maxDiff(flat(a), flat(b))).toBeLessThan(1e-6);
    expect(maxDiff(a.optimizer.m, b.optimizer.m)).toBeLessThan(1e-6);
    expect(maxDiff(a.optimizer.v, b.optimizer.v)).toBeLessThan(1e-6);
    expect(b.optimizer.t).toBe(a.optimizer.t);
    expect(b.metrics.map((x) => x.step)).toEqual(a.metrics.map((x) => x.step));
    a.metrics.forEach((x, i) => {
      expect(Math.abs(b.metrics[i].loss - x.loss), `step ${i}`).toBeLessThan(1e-6);
      expect(b.metrics[i].lr).toBe(x.lr);
    });
  });
});
