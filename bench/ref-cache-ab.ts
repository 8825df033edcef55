/**
 * CPU time of a CLO step with the reference cache warm vs the reference recomputed every step, same
 * process, alternating: `node cli/launch.mjs bench/ref-cache-ab.ts [B] [T] [rounds]` (stories260K, wasm).
 * CPU time (process.cpuUsage) rather than wall time: the figure holds on a machine shared with other jobs.
 */
import { initNodeBackend, loadModelArg } from '../cli/node-env';
import { Trainer } from '../src/lib/train/trainer';
import { defaultTrainConfig } from '../src/lib/train/defaults';
import { mulberry32 } from '../src/lib/model/sample';

const [Bs = '8', Ts = '128', Rs = '2'] = process.argv.slice(2);
const [B, T, rounds] = [Bs, Ts, Rs].map(Number);
await initNodeBackend('wasm');
const model = await loadModelArg('stories260K');
const rng = mulberry32(3);
const seqs = Array.from({ length: 4 * B }, () => ({
  ids: Array.from({ length: T }, () => 3 + Math.floor(rng() * 509)),
  start: T / 2,
}));
const row = { kind: 'clo' as const, xEn: 'a', yEn: 'b', xTgt: 'c', yTgt: 'd', lang: 'ko' };
const cfg = defaultTrainConfig('clo', { batchSize: B, maxSeqLen: T, steps: 100 });
const cached = Trainer.create(model, [row], cfg);
const perStep = Trainer.create(model, [row], cfg);
perStep.referenceCache = null;
await cached.step([seqs]); // fills the cache
await perStep.step([seqs]);
const cpu = { cached: [] as number[], perStep: [] as number[] };
for (let r = 0; r < rounds; r++)
  for (const [name, t] of [
    ['cached', cached],
    ['perStep', perStep],
  ] as const) {
    const c = process.cpuUsage();
    await t.step([seqs]);
    const d = process.cpuUsage(c);
    cpu[name].push((d.user + d.system) / 1000);
  }
console.log(JSON.stringify({ B, T, cpu_ms: cpu }));
