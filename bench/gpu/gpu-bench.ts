/**
 * The GPU bench: LoRA training steps of the engine on WebGPU through Dawn (the `webgpu` package) in
 * Node, one JSON row per (model shape, objective), for the self-contained folder that
 * `npm run bench:gpu-bundle` writes (scripts/gpu-bundle.ts). Runs as well from the repository:
 *
 *   node cli/launch.mjs bench/gpu/gpu-bench.ts --configs stories260K --steps 2
 *
 * Each row: tokens/s and ms/step (median of the timed steps after one warm-up step), the warm-up
 * step's peak tensor bytes (tf.profile), WebGPU programs dispatched and buffers read back per timed
 * step, and the adapter Dawn picked. A software adapter (SwiftShader, llvmpipe) is reported as such
 * (`gpu: false`); the rows are then a correctness run, never GPU figures.
 * Work per step as bench/bench.ts: LoRA r 8 on q, k, v, o; SFT counts B·T tokens, CLO 4·B·T
 * (both directions, chosen and rejected), the CLO reference cache warm.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from '../../cli/args';
import { isSoftwareAdapter, type BackendChoice } from '../../src/lib/backend/select';
import { loadLlama2c } from '../../src/lib/formats/llama2c';
import type { TokenizedSeq } from '../../src/lib/model/batch';
import type { LoadedModel } from '../../src/lib/model/model';
import { randomWeights } from '../../src/lib/model/random';
import { disposeWeights } from '../../src/lib/model/weights';
import { BIG_6L, QWEN25_05B, SMOLLM2_135M } from '../../src/lib/model/reference-shapes';
import { mulberry32 } from '../../src/lib/model/sample';
import type { TrainRow } from '../../src/lib/data/rows';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import { Trainer } from '../../src/lib/train/trainer';
import { installLabKernels } from '../../src/lib/model/kernels/install';

const HERE = dirname(fileURLToPath(import.meta.url));

const args = parseArgs(
  process.argv.slice(2),
  {
    configs: {
      type: 'string',
      help: 'stories260K,big,smollm135m,qwen05b',
      default: 'stories260K,big,smollm135m,qwen05b',
    },
    objectives: { type: 'string', help: 'sft,clo', default: 'sft,clo' },
    batch: { type: 'number', help: 'batch size (default: 8 for stories260K and big, 1 for the real-model shapes)' },
    seq: {
      type: 'number',
      help: 'sequence length (default: 128 for stories260K and big, 256 for the real-model shapes)',
    },
    steps: { type: 'number', help: 'timed steps per row (after one warm-up step)', default: 5 },
    stories: { type: 'string', help: 'folder holding stories260K.bin and tok512.bin' },
    out: { type: 'string', help: 'also write all rows as one JSON document here' },
  },
  'gpu-bench',
);

const log = (s: string) => process.stderr.write(s + '\n');

function storiesDir(): string {
  const candidates = [
    args.stories as string | undefined,
    resolve(HERE, 'models/stories260K'),
    resolve(HERE, '../../public/models/stories260K'),
  ].filter((p): p is string => !!p);
  const dir = candidates.find((d) => existsSync(resolve(d, 'stories260K.bin')));
  if (!dir) throw new Error(`stories260K.bin not found in ${candidates.join(', ')} (--stories DIR)`);
  return dir;
}

async function startWebgpu(): Promise<BackendChoice['adapterInfo']> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  const adapter = (await gpu.requestAdapter({ powerPreference: 'high-performance' })) as {
    info?: { vendor?: string; architecture?: string; description?: string; device?: string };
    limits?: Record<string, unknown>;
  } | null;
  if (!adapter)
    throw new Error(
      'Dawn found no WebGPU adapter: no Vulkan driver (libvulkan.so.1 and an ICD, e.g. the NVIDIA driver under /usr/share/vulkan/icd.d, or VK_DRIVER_FILES)',
    );
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not start its webgpu backend');
  await tf.ready();
  installLabKernels('webgpu');
  const info = adapter.info ?? {};
  const limits: Record<string, number> = {};
  for (const k of ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize'])
    if (adapter.limits?.[k] !== undefined) limits[k] = Number(adapter.limits[k]);
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description || info.device,
    limits,
  };
}

/** Counts WebGPU programs dispatched and buffers read back, by wrapping the backend's own entry points. */
function instrument(): { dispatches: number; readbacks: number } {
  const counts = { dispatches: 0, readbacks: 0 };
  const backend = tf.backend() as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const [name, key] of [
    ['runWebGPUProgram', 'dispatches'],
    ['read', 'readbacks'],
    ['readSync', 'readbacks'],
  ] as const) {
    const original = backend[name];
    if (typeof original !== 'function') continue;
    backend[name] = function (this: unknown, ...a: unknown[]) {
      counts[key]++;
      return original.apply(this, a);
    };
  }
  return counts;
}

const SHAPES = { big: BIG_6L, smollm135m: SMOLLM2_135M, qwen05b: QWEN25_05B } as const;

function makeModel(name: string, stories: LoadedModel): LoadedModel {
  if (name === 'stories260K') return stories;
  const config = SHAPES[name as keyof typeof SHAPES];
  if (!config) throw new Error(`--configs: unknown config "${name}" (stories260K, big, smollm135m, qwen05b)`);
  return {
    name: `${name}-shaped`,
    config,
    weights: randomWeights(config, 1),
    tokenizer: stories.tokenizer,
    source: 'random',
  };
}

const DUMMY: Record<'sft' | 'clo', TrainRow> = {
  sft: { kind: 'sft', prompt: 'a', response: 'b' },
  clo: { kind: 'clo', xEn: 'a', yEn: 'b', xTgt: 'c', yTgt: 'd', lang: 'ko' },
};

function seqs(n: number, T: number, vocab: number, rng: () => number): TokenizedSeq[] {
  return Array.from({ length: n }, () => ({
    ids: Array.from({ length: T }, () => 3 + Math.floor(rng() * (vocab - 3))),
    start: T / 2,
  }));
}

async function measure(
  model: LoadedModel,
  objective: 'sft' | 'clo',
  B: number,
  T: number,
  counts: { dispatches: number; readbacks: number },
) {
  const cfg = defaultTrainConfig(objective, { batchSize: B, maxSeqLen: T, steps: 1000 });
  const trainer = Trainer.create(model, [DUMMY[objective]], cfg);
  const nSeq = objective === 'sft' ? B : 4 * B;
  // one fixed batch: CLO's reference log-probs come from the cache after the warm-up step
  const batch = [seqs(nSeq, T, model.config.vocabSize, mulberry32(7))];
  try {
    const t0 = performance.now();
    const prof = await tf.profile(async () => {
      await trainer.step(batch);
    });
    const warmupMs = performance.now() - t0;
    const times: number[] = [];
    const d0 = counts.dispatches;
    const r0 = counts.readbacks;
    for (let i = 0; i < (args.steps as number); i++) {
      const t = performance.now();
      await trainer.step(batch);
      times.push(performance.now() - t);
    }
    const n = times.length;
    times.sort((a, b) => a - b);
    const ms = times[Math.floor(n / 2)];
    return {
      ms_per_step: Math.round(ms * 10) / 10,
      tokens_per_s: Math.round(((nSeq * T) / ms) * 1000 * 10) / 10,
      warmup_ms: Math.round(warmupMs),
      peak_bytes: prof.peakBytes,
      dispatches_per_step: Math.round((counts.dispatches - d0) / n),
      readbacks_per_step: Math.round((counts.readbacks - r0) / n),
      timed_steps: n,
    };
  } finally {
    trainer.dispose();
  }
}

async function main() {
  const adapter = await startWebgpu();
  const software = isSoftwareAdapter(adapter);
  log(
    `adapter: ${[adapter?.vendor, adapter?.architecture, adapter?.description].filter(Boolean).join(' / ') || '(no info)'}` +
      (software ? ' — a SOFTWARE adapter: these rows are not GPU figures' : ''),
  );
  const counts = instrument();
  const dir = storiesDir();
  const stories = loadLlama2c(
    new Uint8Array(readFileSync(resolve(dir, 'stories260K.bin'))),
    new Uint8Array(readFileSync(resolve(dir, 'tok512.bin'))),
    'stories260K',
    'stories260K',
    'stories260K.bin',
    'tok512.bin',
  );
  const rows: Record<string, unknown>[] = [];
  for (const name of String(args.configs).split(',').filter(Boolean)) {
    const model = makeModel(name, stories);
    const small = name === 'stories260K' || name === 'big';
    const B = (args.batch as number | undefined) ?? (small ? 8 : 1);
    const T = (args.seq as number | undefined) ?? (small ? 128 : 256);
    for (const objective of String(args.objectives).split(',').filter(Boolean) as ('sft' | 'clo')[]) {
      const base = {
        engine: 'clo-lab',
        backend: 'webgpu',
        config: name,
        objective,
        batch: B,
        seq: T,
        base_dtype: 'f32',
      };
      let row: Record<string, unknown>;
      try {
        row = { ...base, ...(await measure(model, objective, B, T, counts)) };
      } catch (err) {
        row = { ...base, error: err instanceof Error ? err.message.split('\n')[0] : String(err) };
      }
      row.adapter = adapter;
      row.gpu = !software;
      rows.push(row);
      process.stdout.write(JSON.stringify(row) + '\n');
    }
    if (model !== stories) disposeWeights(model.weights);
  }
  if (args.out)
    writeFileSync(
      args.out as string,
      JSON.stringify(
        { date: new Date().toISOString(), node: process.version, adapter, gpu: !software, rows },
        null,
        2,
      ) + '\n',
    );
}

main().catch((err) => {
  log(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
