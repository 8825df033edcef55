/**
 * The WebGPU kernels (attention, head log-probs) against their reference paths in whole CLO training
 * steps (stories260K, LoRA r 4 on q, k, v, o, dropout 0): the same steps run twice on webgpu, once with
 * the kernels and once with forceReference on the ops named; prints per step the loss, grad_norm, the
 * worst relative difference of the LoRA weights after the step (max over tensors of max|ΔW| / max|W|),
 * and ms per step (the first step compiles the shaders). JSON on stdout.
 * `node cli/launch.mjs bench/webgpu-attention-ab.ts [steps] [batch] [seq] [ops]` (defaults 3, 2, 64,
 * attention; any op the kernel registry knows, e.g. head-logprobs, response-rows, clo-loss).
 */
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend, loadModelArg } from '../cli/node-env';
import { forceReference, type LabOp } from '../src/lib/model/kernels/registry';
import { Trainer } from '../src/lib/train/trainer';
import { defaultTrainConfig } from '../src/lib/train/defaults';
import { snapshotLora } from '../src/lib/lora/lora';
import type { LoraSnapshot } from '../src/lib/lora/types';
import type { CloRow } from '../src/lib/data/rows';

const [steps, batch, seq] = [3, 2, 64].map((d, i) => Number(process.argv[2 + i] ?? d));
const ops = (process.argv[5] ?? 'attention').split(',') as LabOp[];

const ROWS: CloRow[] = [
  { kind: 'clo', lang: 'ko', xEn: 'Q: Name a color.\nA: ', yEn: 'Red.', xTgt: 'Q: 색 하나?\nA: ', yTgt: '빨강.' },
  { kind: 'clo', lang: 'ko', xEn: 'Q: What is 2+2?\nA: ', yEn: 'Four.', xTgt: 'Q: 2+2는?\nA: ', yTgt: '넷.' },
];

interface Run {
  loss: number[];
  gradNorm: number[];
  ms: number[];
  after: LoraSnapshot[];
}

async function run(reference: boolean): Promise<Run> {
  for (const op of ops) forceReference(op, reference);
  const model = await loadModelArg('stories260K');
  const cfg = defaultTrainConfig('clo', {
    batchSize: batch,
    maxSeqLen: seq,
    steps,
    lr: 1e-3,
    seed: 1,
    lora: { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], init: 'gaussian' },
  });
  const trainer = Trainer.create(model, ROWS, cfg);
  const out: Run = { loss: [], gradNorm: [], ms: [], after: [] };
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    const m = await trainer.step();
    out.ms.push(Math.round(performance.now() - t0));
    out.loss.push(m.loss);
    out.gradNorm.push(m.grad_norm);
    out.after.push(await snapshotLora(trainer.lora));
  }
  trainer.dispose();
  for (const op of ops) forceReference(op, false);
  return out;
}

function worstRel(a: LoraSnapshot, b: LoraSnapshot): number {
  let worst = 0;
  for (const [key, tb] of Object.entries(b.tensors))
    for (const which of ['A', 'B'] as const) {
      const x = a.tensors[key][which];
      const y = tb[which];
      let diff = 0;
      let scale = 0;
      for (let i = 0; i < y.length; i++) {
        diff = Math.max(diff, Math.abs(x[i] - y[i]));
        scale = Math.max(scale, Math.abs(y[i]));
      }
      worst = Math.max(worst, diff / scale);
    }
  return worst;
}

const choice = await initNodeBackend('webgpu', (s) => console.error(s));
const kernel = await run(false);
const ref = await run(true);
const rel = (x: number, y: number) => Math.abs(x - y) / Math.abs(y);
console.log(
  JSON.stringify({
    backend: tf.getBackend(),
    adapter: choice.adapterInfo ?? null,
    ops,
    batch,
    seq,
    steps: kernel.loss.map((_, i) => ({
      step: i + 1,
      loss: { kernel: kernel.loss[i], reference: ref.loss[i], rel: rel(kernel.loss[i], ref.loss[i]) },
      grad_norm: {
        kernel: kernel.gradNorm[i],
        reference: ref.gradNorm[i],
        rel: rel(kernel.gradNorm[i], ref.gradNorm[i]),
      },
      lora_weights_rel: worstRel(kernel.after[i], ref.after[i]),
      ms: { kernel: kernel.ms[i], reference: ref.ms[i] },
    })),
  }),
);
