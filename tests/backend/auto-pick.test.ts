/**
 * "auto" by measurement (src/lib/backend/auto-pick.ts): the faster backend by tokens/s wins whatever the
 * adapter is called; a pick is cached per model, shape and device; the model's weights stay usable (same
 * loss) after moving between backends, off WebGPU too (Dawn on SwiftShader, skipped with a warning
 * where there is no adapter). Shapes are tiny: stories260K, batch 1, ≤ 16 tokens.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { enableNodeWebgpu } from '../../cli/node-env';
import { loadStories } from '../helpers/helpers';
import { Trainer } from '../../src/lib/train/trainer';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import { installLabKernels } from '../../src/lib/model/kernels/install';
import { disposeWeights, namedTensors } from '../../src/lib/model/weights';
import type { BackendName } from '../../src/lib/backend/order';
import {
  autoPick,
  autoPickKey,
  fastest,
  formatAutoPick,
  measureBackends,
  memoryAutoPickCache,
  type AutoPickOptions,
  type TimedTrainer,
} from '../../src/lib/backend/auto-pick';
import type { SftRow } from '../../src/lib/data/rows';
import { timeWarmSteps } from '../../src/lib/train/time-steps';
import type { SteppedTrainer } from '../../src/lib/train/run-training';

const ROWS: SftRow[] = [
  { kind: 'sft', prompt: 'Once', response: ' upon a time' },
  { kind: 'sft', prompt: 'The cat', response: ' sat.' },
];
const CONFIG = defaultTrainConfig('sft', { batchSize: 1, maxSeqLen: 16, steps: 10, seed: 3 });
const SHAPE = { model: 'stories260K', objective: 'sft', batchSize: 1, gradAccum: 1, maxSeqLen: 16 };

async function activate(b: BackendName): Promise<void> {
  if (!(await tf.setBackend(b))) throw new Error(`${b} did not start`);
  await tf.ready();
  installLabKernels(b);
}

type Fake = TimedTrainer & SteppedTrainer;

/** A trainer that takes `ms` per step for `tokens` tokens, counting its steps in `count`. */
function slowTrainer(ms: number, count?: { n: number }, tokens = 10): Fake {
  let i = 0;
  return {
    done: false,
    get stepIndex() {
      return i;
    },
    step: async () => {
      await new Promise((ok) => setTimeout(ok, ms));
      i++;
      if (count) count.n++;
      return { step: i, loss: 1, lr: 0, grad_norm: 0, tokens_per_s: 0, tokens, ms };
    },
    dispose: () => undefined,
  };
}

describe('auto-pick', () => {
  it('formats both figures and the choice; the fastest by tokens/s wins; failures never win', () => {
    const timings = [
      { backend: 'webgpu' as const, tokensPerS: 840.4, msPerStep: 10 },
      { backend: 'wasm' as const, tokensPerS: 3100, msPerStep: 3 },
    ];
    expect(fastest(timings)).toBe('wasm');
    expect(formatAutoPick({ choice: 'wasm', timings })).toBe('webgpu 840 tok/s, wasm 3,100 tok/s: wasm');
    expect(
      fastest([
        { backend: 'webgpu', error: 'no adapter' },
        { backend: 'wasm', tokensPerS: 2.25 },
      ]),
    ).toBe('wasm');
    expect(
      formatAutoPick({
        choice: 'wasm',
        timings: [
          { backend: 'webgpu', error: 'lost' },
          { backend: 'wasm', tokensPerS: 2.25 },
        ],
      }),
    ).toBe('webgpu failed (lost), wasm 2.3 tok/s: wasm');
    expect(fastest([{ backend: 'webgpu', error: 'x' }])).toBeNull();
    // the key separates models, objectives, shapes and devices
    const keys = new Set([
      autoPickKey(SHAPE),
      autoPickKey({ ...SHAPE, model: 'other' }),
      autoPickKey({ ...SHAPE, objective: 'clo' }),
      autoPickKey({ ...SHAPE, batchSize: 2 }),
      autoPickKey({ ...SHAPE, maxSeqLen: 32 }),
      autoPickKey(SHAPE, 'nvidia / ampere'),
    ]);
    expect(keys.size).toBe(6);
  });

  it('keeps the backend that measured faster and caches it: the next call measures nothing', async () => {
    await activate('cpu');
    const made: BackendName[] = [];
    const cache = memoryAutoPickCache();
    const opts: AutoPickOptions<Fake> = {
      cache,
      candidates: ['cpu', 'wasm'] as BackendName[],
      activate,
      time: timeWarmSteps,
      // cpu is made the slow one here, so the order tried (cpu first, it is in use) cannot decide
      trainer: (b: BackendName) => (made.push(b), slowTrainer(b === 'cpu' ? 60 : 2)),
    };
    const first = await autoPick(SHAPE, opts);
    expect(first.measured).toBe(true);
    expect(made).toEqual(['cpu', 'wasm']);
    expect(first.pick.choice).toBe('wasm');
    expect(first.pick.timings.map((t) => t.backend)).toEqual(['cpu', 'wasm']);
    expect(first.pick.timings[1].tokensPerS!).toBeGreaterThan(first.pick.timings[0].tokensPerS!);
    expect(tf.getBackend()).toBe('wasm');

    await activate('cpu');
    const again = await autoPick(SHAPE, opts);
    expect(again).toEqual({ pick: first.pick, measured: false });
    expect(made).toHaveLength(2);
    expect(tf.getBackend()).toBe('wasm'); // switched to the cached choice
    // another shape is measured anew
    expect((await autoPick({ ...SHAPE, batchSize: 2 }, opts)).measured).toBe(true);
    expect(made).toHaveLength(4);
  });

  it('a backend that fails is reported, not chosen', async () => {
    await activate('wasm');
    const r = await measureBackends<Fake>({
      candidates: ['wasm', 'cpu'],
      activate,
      time: timeWarmSteps,
      trainer: (b) => {
        if (b === 'wasm') throw new Error('out of memory');
        return slowTrainer(1);
      },
    });
    expect(r.choice).toBe('cpu');
    expect(r.timings[0]).toEqual({ backend: 'wasm', error: 'out of memory' });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('the weights stay usable after a measurement moves them between backends (stories260K, cpu ↔ wasm)', async () => {
    await activate('cpu');
    const model = loadStories();
    const lossOn = async (b: BackendName) => {
      await activate(b);
      const t = Trainer.create(model, ROWS, CONFIG);
      const loss = (await t.step()).loss;
      t.dispose();
      return loss;
    };
    const before = await lossOn('cpu');
    const r = await measureBackends<Trainer>({
      candidates: ['cpu', 'wasm'],
      activate,
      time: timeWarmSteps,
      trainer: () => Trainer.create(model, ROWS, CONFIG),
      carry: () => namedTensors(model.weights).values(),
      warmup: 0,
      steps: 1,
    });
    expect(r.timings.map((t) => t.error)).toEqual([undefined, undefined]);
    expect(r.timings.every((t) => t.tokensPerS! > 0 && !t.cold)).toBe(true);
    expect(tf.getBackend()).toBe(r.choice);
    // the weights went to the other backend and (maybe) back: a fresh trainer's first loss is unchanged
    const after = await lossOn(r.choice);
    expect(Math.abs(after - before)).toBeLessThan(1e-4 * Math.abs(before));
    disposeWeights(model.weights);
  });

  it('a backend past its time budget starts no further step and is judged by its first step', async () => {
    await activate('wasm');
    const steps = { n: 0 };
    const r = await measureBackends<Fake>({
      candidates: ['wasm'],
      activate,
      time: timeWarmSteps,
      trainer: () => slowTrainer(30, steps),
      budgetMs: 10,
    });
    expect(steps.n).toBe(1);
    expect(r.timings[0].cold).toBe(true);
    expect(formatAutoPick(r)).toMatch(/^wasm [\d.]+ tok\/s \(first step only\): wasm$/);
  });

  it('a backend measured later stops once it takes slowFactor × the quickest measurement', async () => {
    await activate('wasm');
    const steps = { wasm: { n: 0 }, cpu: { n: 0 } };
    const r = await measureBackends<Fake>({
      candidates: ['wasm', 'cpu'],
      activate,
      time: timeWarmSteps,
      trainer: (b) => slowTrainer(b === 'wasm' ? 1 : 700, steps[b as 'wasm' | 'cpu']),
      slowFactor: 2,
    });
    // wasm took a few ms for its 3 steps: cpu's budget is the 1 s floor, so after its 700 ms warm-up
    // step its first timed step is still running when the budget runs out
    expect(steps.wasm.n).toBe(3);
    expect(steps.cpu.n).toBe(1);
    expect(r.timings[1].unfinished).toBe(true);
    expect(r.choice).toBe('wasm');
  });

  it('a step still running when the budget runs out is left behind: an upper bound, never the choice', async () => {
    await activate('wasm');
    const disposed: string[] = [];
    const r = await measureBackends<Fake>({
      candidates: ['wasm', 'cpu'],
      activate,
      time: timeWarmSteps,
      trainer: (b) => ({ ...slowTrainer(b === 'wasm' ? 1 : 2500, undefined, 6), dispose: () => void disposed.push(b) }),
    });
    // cpu's budget is the 1 s floor: its first 2.5 s step is abandoned after 1 s, its trainer disposed
    expect(r.choice).toBe('wasm');
    expect(r.timings[1]).toMatchObject({ backend: 'cpu', unfinished: true });
    expect(r.timings[1].tokensPerS!).toBeLessThanOrEqual(6); // 6 tokens a step, over ≥ 1 s
    expect(disposed).toEqual(['wasm', 'cpu']);
    expect(formatAutoPick(r)).toMatch(/^wasm [\d,]+ tok\/s, cpu < [\d.]+ tok\/s \(a step ran past [\d.]+ s\): wasm$/);
  });

  it('the carried weights move off WebGPU without a synchronous GPU read (Dawn)', async (ctx) => {
    if (!(await enableNodeWebgpu())) {
      console.warn('auto-pick: no WebGPU adapter here, the WebGPU case is skipped');
      ctx.skip();
    }
    await activate('webgpu');
    const model = loadStories();
    const weights = () => [...namedTensors(model.weights).values()];
    // used on the GPU first, so their values live only in GPU buffers
    const sums = tf.tidy(() => tf.stack(weights().map((w) => tf.sum(w))));
    const onGpu = Array.from(await sums.data());
    sums.dispose();
    const r = await measureBackends<Fake>({
      candidates: ['wasm'],
      activate,
      time: timeWarmSteps,
      trainer: () => slowTrainer(1),
      carry: weights,
    });
    expect(r.choice).toBe('wasm');
    const onWasm = tf.tidy(() => tf.stack(weights().map((w) => tf.sum(w))));
    // the same values (sums in another order: within float rounding)
    const got = Array.from(await onWasm.data());
    got.forEach((v, i) => expect(Math.abs(v - onGpu[i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(onGpu[i]))));
    onWasm.dispose();
    disposeWeights(model.weights);
  });
});
