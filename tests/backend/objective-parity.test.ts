/**
 * Backend parity of every objective over 3 training steps: webgpu (Node via Dawn on SwiftShader, with the
 * lab's WGSL kernels) against wasm (with the lab's WebAssembly kernels), on stories260K and on the
 * 6-layer dim-256 model (random weights, the bench's `big` shape); `npm test` runs one case of them
 * (CASES below). Each objective trains on one short row of the kind it accepts (its `accepts[0]`), batch 1,
 * dropout 0, LoRA on every projection.
 *
 * Agreement, for each objective and model:
 *  - loss and grad_norm at each of the 3 steps: |x_webgpu − x_wasm| ≤ 1e-4·|x_wasm|;
 *  - the LoRA gradients at the same weights (the adapter as wasm left it after step 2, so B ≠ 0 and A
 *    has a gradient; loaded on each backend): for every adapter tensor, max|g_webgpu − g_wasm| ≤
 *    1e-4·max|g_wasm|. (The weights after Adam steps are not compared element by element: Adam moves an
 *    element whose gradient is near zero by about ±lr whatever its size, so a 1e-7 difference in such a
 *    gradient can flip it.)
 * Without a WebGPU adapter the comparisons are skipped at run time with a warning (ctx.skip).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { enableNodeWebgpu } from '../../cli/node-env';
import { loadStories } from '../helpers/helpers';
import type { TrainRow } from '../../src/lib/data/rows';
import { OBJECTIVES } from '../../src/lib/objectives';
import { Trainer } from '../../src/lib/train/trainer';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import { disposeLora, loraFromSnapshot, loraVariables, snapshotLora, withAdapterOff } from '../../src/lib/lora/lora';
import { disposeBatch, packBatch, tokenizePair, type TokenizedSeq } from '../../src/lib/model/batch';
import { sequenceLogprobs } from '../../src/lib/model/logprobs';
import type { LoraSnapshot } from '../../src/lib/lora/types';
import { installLabKernels } from '../../src/lib/model/kernels/install';
import { BIG_6L } from '../../src/lib/model/reference-shapes';
import { randomWeights } from '../../src/lib/model/random';
import { disposeWeights } from '../../src/lib/model/weights';
import type { LoadedModel } from '../../src/lib/model/model';
import type { TrainObjectiveName } from '../../src/lib/train/types';

const STEPS = 3;
const NAMES = Object.keys(OBJECTIVES) as TrainObjectiveName[];
/**
 * The cases run. On SwiftShader each objective costs a minute or more (its shapes compile new
 * pipelines, and a 6-layer step takes tens of seconds), so `npm test` runs SFT on stories260K alone
 * (tests/backend/parity.test.ts checks CLO against cpu); CLO_PARITY=all runs every objective on both
 * models, as recorded in docs/webgpu-here.md.
 */
const ALL = process.env.CLO_PARITY === 'all';
const CASES: Record<string, TrainObjectiveName[]> = {
  stories260K: ALL ? NAMES : ['sft'],
  'big-6L-d256': ALL ? NAMES : [],
};
const TOL = 1e-4;

/** one short row of each kind (English and Korean text: the Korean side is byte-fallback tokens) */
const ROW: Record<TrainRow['kind'], TrainRow> = {
  sft: { kind: 'sft', prompt: 'Q: Name a color.\nA: ', response: 'Red.' },
  preference: { kind: 'preference', prompt: 'Q: Name a color.\nA: ', chosen: 'Red.', rejected: 'Dog.' },
  clo: { kind: 'clo', lang: 'ko', xEn: 'Q: Color?\nA: ', yEn: 'Red.', xTgt: 'Q: 색?\nA: ', yTgt: '빨강.' },
};

const MODELS: Record<string, () => LoadedModel> = {
  stories260K: loadStories,
  'big-6L-d256': () => {
    const stories = loadStories();
    disposeWeights(stories.weights);
    return { ...stories, name: 'big-6L-d256', source: 'random', config: BIG_6L, weights: randomWeights(BIG_6L, 1) };
  },
};

interface Run {
  loss: number[];
  gradNorm: number[];
  /** the adapter after step 2 */
  after2: LoraSnapshot;
}

async function train(modelName: string, objective: TrainObjectiveName): Promise<Run> {
  const model = MODELS[modelName]();
  const cfg = defaultTrainConfig(objective, {
    batchSize: 1,
    maxSeqLen: 32,
    steps: STEPS,
    lr: 2e-3,
    warmupSteps: 0,
    seed: 3,
    lora: {
      r: 4,
      alpha: 8,
      dropout: 0,
      targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
      init: 'gaussian',
    },
  });
  const trainer = Trainer.create(model, [ROW[OBJECTIVES[objective].accepts[0]]], cfg);
  try {
    expect(trainer.skipped).toEqual([]);
    const run: Run = { loss: [], gradNorm: [], after2: undefined as unknown as LoraSnapshot };
    for (let i = 0; i < STEPS; i++) {
      const m = await trainer.step();
      run.loss.push(m.loss);
      run.gradNorm.push(m.grad_norm);
      if (i === 1) run.after2 = await snapshotLora(trainer.lora);
    }
    return run;
  } finally {
    trainer.dispose();
    disposeWeights(model.weights);
  }
}

/**
 * The objective's loss gradients with respect to the adapter `snap` (loaded on the current backend), on
 * the objective's row, the way the trainer computes them: policy with the adapter, reference without it,
 * dropout 0.
 */
async function loraGrads(
  modelName: string,
  objective: TrainObjectiveName,
  snap: LoraSnapshot,
): Promise<Float32Array[]> {
  const model = MODELS[modelName]();
  const obj = OBJECTIVES[objective];
  const cfg = defaultTrainConfig(objective);
  const lora = loraFromSnapshot(snap);
  // the row's own sequences, tokenized as the trainer does: the same shapes as the training steps, so
  // SwiftShader compiles no new pipelines for this pass
  const row = ROW[obj.accepts[0]];
  const seqs: TokenizedSeq[] = obj.tokenize
    ? obj.tokenize(model.tokenizer, row, 32)[0]
    : obj.sequences(row).map((p) => tokenizePair(model.tokenizer, p.prompt, p.response, 32, true));
  const batch = packBatch(seqs, 32);
  const counts = tf.tensor1d(batch.counts);
  try {
    const reference = obj.needsReference
      ? tf.tidy(() => withAdapterOff(lora, () => sequenceLogprobs(model, batch, lora, false)))
      : null;
    const vars = loraVariables(lora);
    const { value, grads } = tf.variableGrads(
      () =>
        obj.loss(
          { policy: sequenceLogprobs(model, batch, lora, true, 0), reference, counts },
          { beta: cfg.beta, lambda: cfg.lambda },
        ).loss,
      vars,
    );
    const out = await Promise.all(vars.map((v) => grads[v.name].data() as Promise<Float32Array>));
    value.dispose();
    reference?.dispose();
    Object.values(grads).forEach((g) => g.dispose());
    return out;
  } finally {
    counts.dispose();
    disposeBatch(batch);
    disposeLora(lora);
    disposeWeights(model.weights);
  }
}

/** worst over adapter tensors of max|a − b| / max|b| */
function worstGradDiff(a: Float32Array[], b: Float32Array[]): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  b.forEach((y, k) => {
    const x = a[k];
    expect(x.length).toBe(y.length);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < y.length; i++) {
      diff = Math.max(diff, Math.abs(x[i] - y[i]));
      scale = Math.max(scale, Math.abs(y[i]));
    }
    expect(scale).toBeGreaterThan(0);
    worst = Math.max(worst, diff / scale);
  });
  return worst;
}

let gpu = false;
/** wasm runs and gradients, by model and objective, computed before any webgpu run (one backend switch) */
const wasmRuns = new Map<string, Run & { grads: Float32Array[] }>();

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true);
  installLabKernels('wasm');
  for (const model of Object.keys(MODELS))
    for (const objective of CASES[model]) {
      const run = await train(model, objective);
      wasmRuns.set(`${model}/${objective}`, { ...run, grads: await loraGrads(model, objective, run.after2) });
    }
  gpu = await enableNodeWebgpu();
  if (gpu) {
    expect(await tf.setBackend('webgpu')).toBe(true);
    installLabKernels('webgpu');
  }
}, 120_000);

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(Object.keys(MODELS).filter((m) => CASES[m].length))('%s: 3 steps on webgpu = wasm', (modelName) => {
  it.for(CASES[modelName])('%s', { timeout: 600_000 }, async (objective, ctx) => {
    if (!gpu) {
      console.warn(
        'objective-parity: webgpu SKIPPED: no WebGPU adapter in this Node (Dawn found no Vulkan driver; see docs/webgpu-here.md)',
      );
      ctx.skip();
      return;
    }
    const ref = wasmRuns.get(`${modelName}/${objective}`)!;
    const got = await train(modelName, objective);
    const rel = (x: number, y: number) => Math.abs(x - y) / Math.abs(y);
    const report = {
      loss: got.loss.map((x, i) => rel(x, ref.loss[i])),
      gradNorm: got.gradNorm.map((x, i) => rel(x, ref.gradNorm[i])),
      grads: worstGradDiff(await loraGrads(modelName, objective, ref.after2), ref.grads),
    };
    console.log(`${modelName} ${objective} webgpu vs wasm:`, JSON.stringify(report), `losses ${ref.loss.join(', ')}`);
    // the run is real: losses finite and positive, the adapter moved
    for (const x of ref.loss) expect(Number.isFinite(x) && x > 0).toBe(true);
    const anyB = Object.values(ref.after2.tensors)[0].B;
    expect(Math.max(...Array.from(anyB, Math.abs))).toBeGreaterThan(1e-3);
    expect(Math.max(...report.loss, ...report.gradNorm)).toBeLessThan(TOL);
    expect(report.grads).toBeLessThan(TOL);
  });
});
