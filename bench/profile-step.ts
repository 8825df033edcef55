/**
 * Kernel-level profile of one LoRA training step: `node cli/launch.mjs bench/profile-step.ts [backend] [sft|clo] [B] [T]`.
 * Model: stories260K, or random weights of a reference shape (SMOL=1: SmolLM2-135M, BIG=1: the 6-layer model);
 * BASE=int8|f16 packs the frozen base, PACKED_THREADS=0|1 runs its products on one thread or splits them over the wasm helper threads (the default). Prints the kernels by time and the share of the dense products.
 */
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend, loadModelArg } from '../cli/node-env';
import { Trainer } from '../src/lib/train/trainer';
import { defaultTrainConfig } from '../src/lib/train/defaults';
import { mulberry32 } from '../src/lib/model/sample';
import type { TrainRow } from '../src/lib/data/rows';

const [backend = 'wasm', objective = 'sft', Bs = '8', Ts = '128'] = process.argv.slice(2);
const B = Number(Bs);
const T = Number(Ts);
await initNodeBackend(backend, (s) => process.stderr.write(s + '\n'));
import { BIG_6L, SMOLLM2_135M } from '../src/lib/model/reference-shapes';
import { randomWeights } from '../src/lib/model/random';
import { packFrozenBase } from '../src/lib/model/packed-base';
import { setPackedMatMulThreads } from '../src/lib/model/kernels/packed-matmul/wasm-op';
if (process.env.PACKED_THREADS) setPackedMatMulThreads(process.env.PACKED_THREADS === '1');
const stories = await loadModelArg('stories260K');
const shape = process.env.SMOL ? SMOLLM2_135M : process.env.BIG ? BIG_6L : null;
const model = shape ? { ...stories, config: shape, weights: randomWeights(shape, 1) } : stories;
if (process.env.BASE === 'int8' || process.env.BASE === 'f16') packFrozenBase(model, process.env.BASE);
const row: TrainRow =
  objective === 'sft'
    ? { kind: 'sft', prompt: 'a', response: 'b' }
    : { kind: 'clo', xEn: 'a', yEn: 'b', xTgt: 'c', yTgt: 'd', lang: 'ko' };
const trainer = Trainer.create(
  model,
  [row],
  defaultTrainConfig(objective as 'sft' | 'clo', { batchSize: B, maxSeqLen: T, checkpointing: !!process.env.CKPT }),
);
const rng = mulberry32(1);
const n = objective === 'sft' ? B : 4 * B;
const fresh = () => [
  Array.from({ length: n }, () => ({
    ids: Array.from({ length: T }, () => 3 + Math.floor(rng() * (model.config.vocabSize - 3))),
    start: T / 2,
  })),
];
// CLO/DPO: one fixed batch, as the bench measures them (the reference cache is warm after the first step);
// REF=1 draws new rows every step, so the profiled step includes the reference forward.
const fixed = objective !== 'sft' && !process.env.REF ? fresh() : null;
const batch = () => fixed ?? fresh();
await trainer.step(batch());
const t0 = performance.now();
const prof = await tf.profile(async () => {
  await trainer.step(batch());
});
const wall = performance.now() - t0;
const by = new Map<string, { ms: number; n: number }>();
for (const k of prof.kernels) {
  const e = by.get(k.name) ?? { ms: 0, n: 0 };
  e.ms += Number(await k.kernelTimeMs) || 0;
  e.n += 1;
  by.set(k.name, e);
}
const rows = [...by.entries()].sort((a, b) => b[1].ms - a[1].ms);
const total = rows.reduce((s, [, e]) => s + e.ms, 0);
console.log(
  `wall ${wall.toFixed(0)} ms, kernels ${prof.kernels.length}, kernel total ${total.toFixed(0)} ms, peak ${(prof.peakBytes / 2 ** 20).toFixed(1)} MiB`,
);
// the dense products: tfjs's matrix products and the lab's packed-base products
const PRODUCTS = ['BatchMatMul', '_FusedMatMul', 'CloLabPackedMatMul', 'CloLabPackedMatMulGradX'];
const products = rows.filter(([name]) => PRODUCTS.includes(name)).reduce((s, [, e]) => s + e.ms, 0);
console.log(
  `dense products ${products.toFixed(0)} ms: ${((100 * products) / total).toFixed(1)}% of kernel time, ${((100 * products) / wall).toFixed(1)}% of wall`,
);
for (const [name, e] of rows.slice(0, 25))
  console.log(`${name.padEnd(24)} ${e.ms.toFixed(1).padStart(8)} ms  ${String(e.n).padStart(5)} calls`);
if (process.env.SHAPES) {
  const mm = new Map<string, { ms: number; n: number }>();
  for (const k of prof.kernels) {
    if (k.name !== process.env.SHAPES) continue;
    const key = JSON.stringify(k.inputShapes);
    const e = mm.get(key) ?? { ms: 0, n: 0 };
    e.ms += Number(await k.kernelTimeMs) || 0;
    e.n += 1;
    mm.set(key, e);
  }
  for (const [s, e] of [...mm.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15))
    console.log(`${s.padEnd(40)} ${e.ms.toFixed(1)} ms ${e.n}`);
}
if (process.env.MEM) {
  // Where the peak is: the kernel at which total bytes peaked, and the bytes each kernel kind added before it.
  let at = 0;
  prof.kernels.forEach((k, i) => {
    if (k.totalBytesSnapshot > prof.kernels[at].totalBytesSnapshot) at = i;
  });
  const added = new Map<string, number>();
  for (const k of prof.kernels.slice(0, at + 1)) added.set(k.name, (added.get(k.name) ?? 0) + k.bytesAdded);
  console.log(
    `peak at kernel ${at}/${prof.kernels.length} (${prof.kernels[at].name}), ${(prof.kernels[at].totalBytesSnapshot / 2 ** 20).toFixed(1)} MiB; start ${((prof.kernels[0].totalBytesSnapshot - prof.kernels[0].bytesAdded) / 2 ** 20).toFixed(1)} MiB`,
  );
  for (const [n, b] of [...added.entries()].sort((x, y) => y[1] - x[1]).slice(0, 15))
    console.log(`${n.padEnd(24)} ${(b / 2 ** 20).toFixed(1)} MiB`);
}
if (process.env.MEM_SERIES) {
  const ks = prof.kernels;
  const step = Math.max(1, Math.floor(ks.length / 60));
  for (let i = 0; i < ks.length; i += step)
    console.log(
      `${String(i).padStart(5)} ${ks[i].name.padEnd(20)} ${(ks[i].totalBytesSnapshot / 2 ** 20).toFixed(1).padStart(8)} MiB ${JSON.stringify(ks[i].outputShapes)}`,
    );
}
