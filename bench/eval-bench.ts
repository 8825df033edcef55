/**
 * KoBEST evaluation speed of stories260K per backend, 0-shot and k-shot, in items per second
 * (an item = one question with all its choices scored). Writes bench/results/eval.json.
 *
 *   node cli/launch.mjs bench/eval-bench.ts [--backends wasm,webgpu,cpu] [--limit 4] [--shots 0,5]
 *
 * The first items of each KoBEST test split are scored (same items for every backend); one warm-up
 * item per configuration is scored first and not timed (shader compilation, wasm start-up).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from '../cli/args';
import { initNodeBackend, loadModelArg, PROJECT_ROOT } from '../cli/node-env';
import { fsDataSource } from '../cli/commands/eval';
import { evaluate } from '../src/lib/eval/run-eval';
import { KOBEST_TASKS } from '../src/lib/eval/tasks';

const args = parseArgs(
  process.argv.slice(2),
  {
    backends: { type: 'string', help: 'comma list', default: 'wasm,webgpu,cpu' },
    limit: { type: 'number', help: 'items per task', default: 4 },
    'cpu-limit': { type: 'number', help: 'items per task on the (slow) cpu backend', default: 1 },
    shots: { type: 'string', help: 'comma list of k', default: '0,5' },
    'batch-size': { type: 'number', help: 'sequences per forward', default: 16 },
    out: { type: 'string', help: 'output JSON', default: 'bench/results/eval.json' },
  },
  'eval-bench',
);

const log = (s: string) => process.stderr.write(`${s}\n`);

interface Measurement {
  backend: string;
  adapter?: string;
  shots: number;
  items: number;
  seconds: number;
  items_per_s: number;
  /** scored sequences (choices) per second */
  sequences_per_s: number;
  per_task: Record<string, { items: number; seconds: number }>;
}

const source = fsDataSource('public/data');
const results: Measurement[] = [];
const skipped: { backend: string; reason: string }[] = [];

for (const backendName of String(args.backends)
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)) {
  let chosen: string;
  let adapter: string | undefined;
  try {
    const choice = await initNodeBackend(backendName, log);
    chosen = choice.name;
    adapter = choice.adapterInfo
      ? [choice.adapterInfo.vendor, choice.adapterInfo.architecture].filter(Boolean).join(' ')
      : undefined;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    log(`skip ${backendName}: ${reason}`);
    skipped.push({ backend: backendName, reason });
    continue;
  }
  const model = await loadModelArg('stories260K');
  const limit = chosen === 'cpu' ? Number(args['cpu-limit']) : Number(args.limit);
  for (const shots of String(args.shots).split(',').map(Number)) {
    // warm-up: one item of the longest task
    await evaluate(model, [KOBEST_TASKS[0]], { source, shots, limit: 1, batchSize: Number(args['batch-size']) });
    const perTask: Measurement['per_task'] = {};
    let items = 0;
    let sequences = 0;
    let seconds = 0;
    for (const task of KOBEST_TASKS) {
      const t0 = performance.now();
      const rep = await evaluate(model, [task], { source, shots, limit, batchSize: Number(args['batch-size']) });
      const s = (performance.now() - t0) / 1000;
      const r = rep.results[task.name];
      perTask[task.name] = { items: r.n, seconds: s };
      items += r.n;
      sequences += r.items.reduce((a, i) => a + i.loglik.length, 0);
      seconds += s;
    }
    const m: Measurement = {
      backend: chosen,
      adapter,
      shots,
      items,
      seconds,
      items_per_s: items / seconds,
      sequences_per_s: sequences / seconds,
      per_task: perTask,
    };
    log(`${chosen} ${shots}-shot: ${items} items in ${seconds.toFixed(1)} s = ${m.items_per_s.toFixed(3)} items/s`);
    results.push(m);
  }
}

const out = resolve(PROJECT_ROOT, String(args.out));
mkdirSync(dirname(out), { recursive: true });
const doc = {
  what: 'KoBEST multiple-choice scoring speed, stories260K, items/s (all choices of an item scored)',
  date: new Date().toISOString(),
  node: process.version,
  tfjs: tf.version.tfjs,
  tasks: KOBEST_TASKS.map((t) => t.name),
  batch_size: Number(args['batch-size']),
  note: 'measured on a shared 2-core machine without a GPU (WebGPU = SwiftShader); compare backends within one file only',
  results,
  skipped,
};
writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
log(`wrote ${out}`);
