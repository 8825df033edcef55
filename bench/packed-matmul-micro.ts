/**
 * The packed-matmul kernel alone on the SmolLM2-135M shapes (N tokens × in → out), against tfjs-wasm's f32
 * matMul (XNNPACK) on the same shapes: y = x·Wᵀ (forward, f32 against a kept Wᵀ as model/matmul.ts does) and
 * dx = dy·W (the activation gradient), for the int8 and f16 packed W. GMAC/s = N·in·out / time, the median
 * of `--reps` timed calls after one warm-up, by wall time and by CPU time (process.cpuUsage, all threads:
 * the figure a loaded machine distorts least). XNNPACK runs on the backend's threads; the packed kernel on
 * the calling thread and its helpers (kinds int8, f16) or on the calling thread alone (int8-1thread,
 * f16-1thread).
 *   node cli/launch.mjs bench/packed-matmul-micro.ts [--tokens 256] [--shapes 576x576,576x1536,1536x576,576x192]
 *     [--reps 5] [--simd relaxed|plain] [--out bench/results/packed-matmul-micro.json]
 * Writes one JSON document to --out (and prints it).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../cli/node-env';
import { packMatrix, type PackedFormat } from '../src/lib/model/kernels/packed-matmul/pack';
import { PackedWeight } from '../src/lib/model/kernels/packed-matmul/packed-matmul';
import {
  packedMatMulSimd,
  setPackedMatMulSimd,
  setPackedMatMulThreads,
  wasmPackedBackward,
  wasmPackedForward,
} from '../src/lib/model/kernels/packed-matmul/wasm-op';

const { values: args } = parseArgs({
  options: {
    tokens: { type: 'string', default: '256' },
    shapes: { type: 'string', default: '576x576,576x1536,1536x576,576x192' },
    reps: { type: 'string', default: '5' },
    simd: { type: 'string' },
    out: { type: 'string', default: 'bench/results/packed-matmul-micro.json' },
  },
});
const choice = await initNodeBackend('wasm');
if (args.simd) setPackedMatMulSimd(args.simd as 'relaxed' | 'plain');
const M = Number(args.tokens);
const reps = Number(args.reps);

/** Median wall and CPU milliseconds of `reps` calls of f (after one warm-up); f's result is read and freed. */
async function time(f: () => tf.Tensor): Promise<{ ms: number; cpu_ms: number }> {
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i <= reps; i++) {
    const c = process.cpuUsage();
    const t0 = performance.now();
    const out = f();
    await out.data();
    const wall = performance.now() - t0;
    const d = process.cpuUsage(c);
    out.dispose();
    if (i > 0) {
      walls.push(wall);
      cpus.push((d.user + d.system) / 1000);
    }
  }
  const median = (v: number[]) => v.sort((a, b) => a - b)[v.length >> 1];
  return { ms: median(walls), cpu_ms: median(cpus) };
}

const rows: Record<string, unknown>[] = [];
for (const shape of args.shapes!.split(',')) {
  const [inDim, outDim] = shape.split('x').map(Number);
  const macs = M * inDim * outDim;
  const w = tf.randomNormal([outDim, inDim], 0, 0.05, 'float32', 1) as tf.Tensor2D;
  const x = tf.randomNormal([M, inDim], 0, 1, 'float32', 2) as tf.Tensor2D;
  const dy = tf.randomNormal([M, outDim], 0, 1, 'float32', 3) as tf.Tensor2D;
  const wData = w.dataSync() as Float32Array;
  const row = (kind: string, dir: string, t: { ms: number; cpu_ms: number }) => {
    const r = {
      shape: `${M}x${inDim}->${outDim}`,
      kind,
      dir,
      ...t,
      gmac_s: +(macs / t.ms / 1e6).toFixed(2),
      gmac_per_cpu_s: +(macs / t.cpu_ms / 1e6).toFixed(2),
    };
    rows.push(r);
    console.log(JSON.stringify(r));
  };
  // forward as the lab runs a frozen f32 W on wasm: against a kept Wᵀ (model/matmul.ts)
  const wt = tf.transpose(w) as tf.Tensor2D;
  row('f32-matMul', 'forward', await time(() => tf.matMul(x, wt)));
  row('f32-matMul', 'backward', await time(() => tf.matMul(dy, w)));
  for (const fmt of ['int8', 'f16'] as PackedFormat[]) {
    const p = new PackedWeight(packMatrix(wData, outDim, inDim, fmt));
    const attrs = { fmt: fmt === 'f16' ? 1 : 0, N: outDim, K: inDim };
    for (const threads of [true, false]) {
      setPackedMatMulThreads(threads);
      // helper threads start asynchronously: give them a moment after the first call
      wasmPackedForward(x, p.data, p.scales, attrs).dispose();
      await new Promise((r) => setTimeout(r, 200));
      const kind = threads ? fmt : `${fmt}-1thread`;
      row(kind, 'forward', await time(() => wasmPackedForward(x, p.data, p.scales, attrs)));
      row(kind, 'backward', await time(() => wasmPackedBackward(dy, p.data, p.scales, attrs)));
    }
    p.dispose();
  }
  tf.dispose([w, wt, x, dy]);
}
const doc = {
  date: new Date().toISOString(),
  node: process.version,
  backend: choice.name,
  threads: (await import('@tensorflow/tfjs-backend-wasm')).getThreadsCount(),
  simd: packedMatMulSimd(),
  tokens: M,
  reps,
  results: rows,
};
writeFileSync(args.out!, JSON.stringify(doc, null, 1) + '\n');
console.log(`wrote ${args.out}`);
