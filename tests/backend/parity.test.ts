/**
 * Backend parity of one CLO training step (stories260K, 2 short quadruples, seq ≤ 64, dropout 0):
 * webgpu (Node via Dawn) vs cpu, and wasm vs cpu, each backend with the lab's kernels installed (webgpu:
 * the WGSL attention kernel; wasm: the WebAssembly ones) against cpu's reference paths.
 *
 * Agreement, defined precisely:
 *  - loss and grad_norm of step 1: |x_b − x_cpu| ≤ 1e-4·|x_cpu|;
 *  - the LoRA weights after step 1 (and after step 2, where Adam no longer reduces to sign(g)):
 *    for every adapter tensor W, max|W_b − W_cpu| ≤ 1e-4·max|W_cpu| (max over elements), then the worst tensor.
 * Without a WebGPU adapter the webgpu case is skipped at run time with a warning (ctx.skip), never passed silently.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { enableNodeWebgpu } from '../../cli/node-env';
import { loadStories } from '../helpers/helpers';
import type { CloRow } from '../../src/lib/data/rows';
import { Trainer } from '../../src/lib/train/trainer';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import { snapshotLora } from '../../src/lib/lora/lora';
import type { LoraSnapshot } from '../../src/lib/lora/types';
import { installLabKernels } from '../../src/lib/model/kernels/install';

installLabKernels('wasm');

// Two short quadruples (English and Korean, so the Korean side is byte-fallback tokens), each sequence < 64 tokens.
const ROWS: CloRow[] = [
  { kind: 'clo', lang: 'ko', xEn: 'Q: Name a color.\nA: ', yEn: 'Red.', xTgt: 'Q: 색 하나?\nA: ', yTgt: '빨강.' },
  { kind: 'clo', lang: 'ko', xEn: 'Q: What is 2+2?\nA: ', yEn: 'Four.', xTgt: 'Q: 2+2는?\nA: ', yTgt: '넷.' },
];

interface Result {
  loss: number[];
  gradNorm: number[];
  after: LoraSnapshot[];
}

async function runOn(backend: string): Promise<Result> {
  expect(await tf.setBackend(backend)).toBe(true);
  await tf.ready();
  expect(tf.getBackend()).toBe(backend);
  const model = loadStories(); // weights created on this backend
  const cfg = defaultTrainConfig('clo', {
    batchSize: 2,
    maxSeqLen: 64,
    steps: 2,
    lr: 1e-3,
    seed: 1,
    lora: { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], init: 'gaussian' },
  });
  const trainer = Trainer.create(model, ROWS, cfg);
  expect(trainer.skipped).toEqual([]);
  const out: Result = { loss: [], gradNorm: [], after: [] };
  for (let i = 0; i < 2; i++) {
    const m = await trainer.step();
    out.loss.push(m.loss);
    out.gradNorm.push(m.grad_norm);
    out.after.push(await snapshotLora(trainer.lora));
  }
  trainer.dispose();
  for (const t of Object.values(model.weights)) if (t instanceof tf.Tensor) t.dispose();
  return out;
}

/** worst over tensors of max|a − b| / max|b| */
function worstRelDiff(a: LoraSnapshot, b: LoraSnapshot): { rel: number; where: string } {
  let worst = { rel: 0, where: '' };
  for (const [key, tb] of Object.entries(b.tensors)) {
    const ta = a.tensors[key];
    for (const which of ['A', 'B'] as const) {
      const x = ta[which];
      const y = tb[which];
      expect(x.length).toBe(y.length);
      let diff = 0;
      let scale = 0;
      for (let i = 0; i < y.length; i++) {
        diff = Math.max(diff, Math.abs(x[i] - y[i]));
        scale = Math.max(scale, Math.abs(y[i]));
      }
      const rel = diff / scale;
      if (rel > worst.rel || !worst.where) worst = { rel, where: `${key}.${which}` };
    }
  }
  return worst;
}

function compare(label: string, got: Result, ref: Result): void {
  const rel = (x: number, y: number) => Math.abs(x - y) / Math.abs(y);
  const report = {
    loss1: rel(got.loss[0], ref.loss[0]),
    gradNorm1: rel(got.gradNorm[0], ref.gradNorm[0]),
    weights1: worstRelDiff(got.after[0], ref.after[0]),
    loss2: rel(got.loss[1], ref.loss[1]),
    weights2: worstRelDiff(got.after[1], ref.after[1]),
  };
  console.log(
    `${label} vs cpu:`,
    JSON.stringify(report),
    `loss ${got.loss[0]} / ${ref.loss[0]}, grad_norm ${got.gradNorm[0]} / ${ref.gradNorm[0]}`,
  );
  expect(report.loss1).toBeLessThan(1e-4);
  expect(report.gradNorm1).toBeLessThan(1e-4);
  expect(report.weights1.rel).toBeLessThan(1e-4);
  expect(report.loss2).toBeLessThan(1e-4);
  expect(report.weights2.rel).toBeLessThan(1e-4);
}

describe('one CLO training step: backend parity', () => {
  let cpu: Result;

  it('cpu reference run', async () => {
    cpu = await runOn('cpu');
    expect(cpu.loss[0]).toBeGreaterThan(0);
    // the update is real: B moved from 0 by about lr
    const anyB = Object.values(cpu.after[0].tensors)[0].B;
    expect(Math.max(...Array.from(anyB, Math.abs))).toBeGreaterThan(5e-4);
  });

  it('wasm agrees with cpu', async () => {
    const wasm = await runOn('wasm');
    compare('wasm', wasm, cpu);
  });

  it('webgpu (Dawn) agrees with cpu', async (ctx) => {
    const gpu = await enableNodeWebgpu();
    if (!gpu) {
      console.warn(
        'engine-parity: webgpu case SKIPPED: no WebGPU adapter in this Node (Dawn found no Vulkan driver; see docs/webgpu-here.md)',
      );
      ctx.skip();
      return;
    }
    installLabKernels('webgpu'); // the lab's WGSL kernels, as cli/node-env.ts installs them
    const webgpu = await runOn('webgpu');
    compare('webgpu', webgpu, cpu);
    await tf.setBackend('cpu');
    // SwiftShader compiles every WGSL pipeline on the CPU: about a minute alone, several on a busy machine
  }, 600_000);
});
