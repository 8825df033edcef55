/**
 * Peak tensor memory of one LoRA training step (r 8 on q,k,v,o, wasm), measured as bench/bench.ts measures
 * it (tf.profile peakBytes of the first step, the CLO reference pass included), without bench.ts's extra
 * timed steps: for shapes where one step takes minutes (the SmolLM2-135M shape).
 *   node cli/launch.mjs bench/step-peak.ts --configs smollm135m --objectives clo,sft --checkpointing both --out bench/results/memory.json
 * Appends one row per measurement to --out (bench.ts's row format, `tool: step-peak`); a step the memory
 * guard refuses on wasm is recorded as skipped, as bench.ts does. ms_per_step is that first step's wall
 * time (it includes the one-time copies of the head's transposed blocks); cpu_ms_per_step its CPU time.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend, loadModelArg } from '../cli/node-env';
import { Trainer } from '../src/lib/train/trainer';
import { defaultTrainConfig } from '../src/lib/train/defaults';
import { mulberry32 } from '../src/lib/model/sample';
import { BIG_6L, SMOLLM2_135M } from '../src/lib/model/reference-shapes';
import { randomWeights } from '../src/lib/model/random';
import { budgetFor, checkBudget, estimatePeak } from '../src/lib/model/memory';
import { trackWasmBuffers } from './buffer-peak';
import type { LinearName } from '../src/lib/model/weights';

const { values: args } = parseArgs({
  options: {
    configs: { type: 'string', default: 'smollm135m' },
    objectives: { type: 'string', default: 'clo' },
    checkpointing: { type: 'string', default: 'both' },
    batch: { type: 'string' },
    seq: { type: 'string' },
    out: { type: 'string', default: 'bench/results/memory.json' },
  },
});
await initNodeBackend('wasm', () => {});
// allocations counted from the start, so the model's weights are in `live` when a step begins
const buffers = trackWasmBuffers();
const LORA = { r: 8, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] as LinearName[] };
const stories = await loadModelArg('stories260K');
const MiB = 2 ** 20;

/** Size of the wasm backend's heap (bytes), or null on another backend. */
function wasmHeapBytes(): number | null {
  const be = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return be.wasm?.HEAPU8?.buffer.byteLength ?? null;
}

for (const config of args.configs!.split(',')) {
  const shape = config === 'smollm135m' ? SMOLLM2_135M : config === 'big' ? BIG_6L : null;
  const model = shape ? { ...stories, config: shape, weights: randomWeights(shape, 1) } : stories;
  const [B, T] = [
    Number(args.batch ?? (config === 'smollm135m' ? 1 : 8)),
    Number(args.seq ?? (config === 'smollm135m' ? 256 : 128)),
  ];
  for (const objective of args.objectives!.split(',') as ('sft' | 'clo')[])
    for (const checkpointing of args.checkpointing === 'both' ? [true, false] : [args.checkpointing === 'on']) {
      const nSeq = objective === 'sft' ? B : 4 * B;
      const est = estimatePeak(model.config, {
        batchSize: nSeq,
        seqLen: T,
        lora: LORA,
        training: true,
        checkpointing,
        backend: 'wasm',
      });
      const base = { backend: 'wasm', config, objective, batch: B, seq: T, checkpointing, tool: 'step-peak' };
      let row: Record<string, unknown>;
      const fits = checkBudget(est, budgetFor('wasm'));
      if (!fits.ok) row = { ...base, skipped: `memory guard: ${fits.advice}`, estimate_bytes: est.total };
      else {
        const trainer = Trainer.create(
          model,
          [
            objective === 'sft'
              ? { kind: 'sft', prompt: 'a', response: 'b' }
              : { kind: 'clo', xEn: 'a', yEn: 'b', xTgt: 'c', yTgt: 'd', lang: 'ko' },
          ],
          defaultTrainConfig(objective, { batchSize: B, maxSeqLen: T, checkpointing }),
        );
        const rng = mulberry32(7);
        const seqs = Array.from({ length: nSeq }, () => ({
          ids: Array.from({ length: T }, () => 3 + Math.floor(rng() * (model.config.vocabSize - 3))),
          start: T / 2,
        }));
        let rssPeak = process.memoryUsage().rss;
        const timer = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
        let loss = NaN;
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        buffers.reset();
        const prof = await tf.profile(async () => {
          loss = (await trainer.step([seqs])).loss;
        });
        const ms = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        clearInterval(timer);
        trainer.dispose();
        row = {
          ...base,
          steps: 1,
          ms_per_step: +ms.toFixed(1),
          tokens_per_s: +(((nSeq * T) / ms) * 1000).toFixed(1),
          // CPU time of this process (every wasm thread): less sensitive than wall time to other jobs
          cpu_ms_per_step: +((cpu.user + cpu.system) / 1000).toFixed(1),
          wasm_threads: Number(process.env.CLO_LAB_WASM_THREADS ?? 0) || 'all cores',
          loss,
          peak_bytes: prof.peakBytes,
          rss_peak_bytes: rssPeak,
          // the same step counted once per buffer (bench/buffer-peak.ts): views and kept clones that
          // share a buffer count once here, each time in peak_bytes
          buffer_peak_bytes: buffers.peak,
          // the wasm heap only grows: its size after the step is the high-water mark of every tensor's
          // bytes (shared buffers once), so measure one shape per process for a per-shape figure
          wasm_heap_bytes: wasmHeapBytes(),
          micro_batches: 1,
          estimate_bytes: est.total,
        };
      }
      console.log(JSON.stringify(row));
      const doc = existsSync(args.out!) ? JSON.parse(readFileSync(args.out!, 'utf8')) : { results: [] };
      doc.results.push(row);
      writeFileSync(args.out!, JSON.stringify(doc, null, 1) + '\n');
      if (row.peak_bytes)
        console.error(
          `${config} ${objective} ${B}×${T} ckpt ${checkpointing}: peak ${((row.peak_bytes as number) / MiB).toFixed(1)} MiB (buffers once: ${(((row.buffer_peak_bytes as number) ?? 0) / MiB).toFixed(1)} MiB), estimate ${(est.total / MiB).toFixed(1)} MiB`,
        );
    }
}
