/**
 * Refits the memory guard's activation coefficients (src/lib/model/memory.ts MEMORY_COEFFS) to peaks
 * the bench measured: `npx tsx bench/fit-memory.ts bench/results/memory.json`. Searches a grid for the
 * coefficients with the smallest worst-case relative error over every recorded step (wasm, SFT and
 * CLO, checkpointing on and off) and prints them with each row's error; paste them into memory.ts.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installLabKernels } from '../src/lib/model/kernels/install';
import { estimatePeak, MEMORY_COEFFS } from '../src/lib/model/memory';
import { BIG_6L, SMOLLM2_135M } from '../src/lib/model/reference-shapes';
import { loadModelArg } from '../cli/node-env';
import type { ModelConfig } from '../src/lib/model/config';

interface Row {
  config: string;
  objective: string;
  batch: number;
  seq: number;
  checkpointing: boolean;
  peak_bytes?: number;
  micro_batches: number;
}

const file = process.argv[2] ?? 'bench/results/memory.json';
const rows = (JSON.parse(readFileSync(file, 'utf8')).results as Row[])
  .filter((r) => r.peak_bytes !== undefined)
  .map((r) => ({ ...r, micro_batches: r.micro_batches ?? 1 }));
await tf.setBackend('cpu');
// the rows were measured on wasm: its kernels registered, the estimate takes the same decisions as there
installLabKernels('wasm');
const stories = (await loadModelArg('stories260K')).config;
const shapes: Record<string, ModelConfig> = { stories260K: stories, big: BIG_6L, smollm135m: SMOLLM2_135M };
const seqPerRow = (o: string) => (o === 'clo' ? 4 : o === 'sft' ? 1 : 2);

function worst(): { err: number; errs: number[] } {
  const errs = rows.map((r) => {
    const e = estimatePeak(shapes[r.config], {
      batchSize: (r.batch * seqPerRow(r.objective)) / r.micro_batches,
      seqLen: r.seq,
      lora: { r: 8, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] },
      training: true,
      checkpointing: r.checkpointing,
      backend: 'wasm',
    }).total;
    return e / r.peak_bytes! - 1;
  });
  return { err: Math.max(...errs.map(Math.abs)), errs };
}

let best = { ...MEMORY_COEFFS };
let bestErr = worst().err;
// h is not fitted: SwiGLU keeps its two inputs (layers.ts swiglu), 2 values per hidden unit; every
// measured shape has h ≈ 2.7·d, so d and h could trade against each other in a fit
const h = 2;
for (let d = 10; d <= 50; d += 0.5)
  // s (the attention probabilities the tf form keeps) cannot be fitted on wasm, where every measured
  // shape runs the attention kernel (head dim divisible by 4) and keeps none: it stays as fitted before
  // the kernel (1.25, bench/results/memory.json at commit 86b0e99) for the backends that keep them
  for (const s of [MEMORY_COEFFS.s])
    for (let back = 0; back <= 2; back += 0.125)
      for (const head of [3, 4, 5, 6]) {
        Object.assign(MEMORY_COEFFS, { d, h, s, back, head });
        const { err } = worst();
        if (err < bestErr) {
          bestErr = err;
          best = { d, h, s, back, head };
        }
      }
Object.assign(MEMORY_COEFFS, best);
const { errs } = worst();
console.log(JSON.stringify(best), `worst relative error ${(bestErr * 100).toFixed(1)}%`);
rows.forEach((r, i) =>
  console.log(`${r.config} ${r.objective} ${r.batch}×${r.seq} ckpt ${r.checkpointing}: ${(errs[i] * 100).toFixed(1)}%`),
);
