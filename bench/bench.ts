/**
 * `npm run bench`: LoRA training-step speed of the engine per backend, beside the PyTorch CPU anchor
 * (../shared/bench/torch_anchor.py) when PyTorch is installed. Writes bench/results/bench.json.
 * Same work as the anchor: stories260K (batch 8 × seq 128, LoRA r=8 on q,k,v,o) and a random 6-layer
 * dim-256 model; SFT counts B·T tokens per step, CLO 4·B·T (both directions, chosen + rejected).
 * `--configs smollm135m`: a random-weight model of SmolLM2-135M's shape (batch 1 × 256 by default),
 * measured with and without gradient checkpointing; peak tensor bytes and the process's peak RSS
 * feed the memory guard's test (`--out bench/results/memory.json`, tests/model/memory-guard.test.ts).
 * `--configs qwen05b`: the same for Qwen2.5-0.5B's shape (wasm only), plus the time to generate a few
 * tokens. Both large shapes take the frozen base `--base` (f32 / f16 / int8; default: the lab's default
 * for the model's size, model/packed-base.ts defaultBaseFormat), report the memory guard's estimate
 * beside the measured peak (estimate_ratio), and the PyTorch anchor runs them with SHAPE=smollm135m /
 * qwen05b at the same batch × sequence.
 * `--configs vocab` (in the default list): vocabulary learning on the bundled Korean corpus and SALT
 * initialisation (skip-gram auxiliary space + per-token least squares) of `--vocab-add` tokens on
 * stories260K, each run `--vocab-repeats` times, the lowest time kept (the machine may be shared);
 * written to bench/results/vocab-speed.json and under `vocab` in the main output.
 * `--configs tokenizer` (in the default list): llama2.c tokenizer encode time on 1k..100k-character
 * prompts, the priority-queue encoder beside the old rescan (bench/tokenizer-bench.ts), under `tokenizer`.
 * `--configs dispatch` (in the default list; webgpu only): dispatches and readbacks per CLO step of the
 * 6-layer model with the lab's WebGPU kernels forced to their reference paths and with the kernels, and
 * the tokens/s of both (bench/webgpu-dispatch.ts; `--dispatch-batch/-seq/-steps`, small by default).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend, loadModelArg, enableNodeWebgpu, PROJECT_ROOT } from '../cli/node-env';
import { nodeWasmThreadsWanted, wasmThreadsInUse } from '../cli/wasm-threads-node';
import { isSoftwareAdapter } from '../src/lib/backend/select';
import { randomWeights } from '../src/lib/model/random';
import type { LoadedModel } from '../src/lib/model/model';
import { Trainer } from '../src/lib/train/trainer';
import { defaultTrainConfig } from '../src/lib/train/defaults';
import type { TrainRow } from '../src/lib/data/rows';
import type { TokenizedSeq } from '../src/lib/model/batch';
import { mulberry32 } from '../src/lib/model/sample';
import { helpText, parseArgs, type Spec } from '../cli/args';
import { WASM_HEAP_BYTES, checkBudget, estimatePeak } from '../src/lib/model/memory';
import { releaseTransposes } from '../src/lib/model/matmul';
import { releaseHeadBlocks } from '../src/lib/model/logprobs';
import { BIG_6L, QWEN25_05B, SMOLLM2_135M } from '../src/lib/model/reference-shapes';
import type { ModelConfig } from '../src/lib/model/config';
import { defaultBaseFormat, type BaseFormat } from '../src/lib/model/packed-base';
import { disposeWeights } from '../src/lib/model/weights';
import { generate } from '../src/lib/model/generate';
import { heapOf } from '../src/lib/model/kernels/wasm-heap';
import { corpusTexts, DEFAULT_CORPUS_FILES } from '../src/lib/vocab/corpus';
import { extendModel } from '../src/lib/vocab/extend-model';
import { tokenizerSpeed, type TokenizerSpeedRow } from './tokenizer-bench';
import { webgpuDispatches } from './webgpu-dispatch';

const SPEC: Spec = {
  backends: { type: 'string', help: 'comma list', default: 'wasm,webgpu,cpu' },
  configs: {
    type: 'string',
    help: 'stories260K,big,smollm135m,qwen05b,vocab,tokenizer,dispatch',
    default: 'stories260K,big,vocab,tokenizer,dispatch',
  },
  'dispatch-batch': { type: 'number', help: 'dispatch: CLO batch (4 sequences each)', default: 1 },
  'dispatch-seq': { type: 'number', help: 'dispatch: sequence length', default: 32 },
  'dispatch-steps': { type: 'number', help: 'dispatch: counted steps (after one warm-up step)', default: 2 },
  base: {
    type: 'string',
    help: 'frozen base of smollm135m / qwen05b: f32, f16, int8 (default: int8 above 100M parameters)',
    choices: ['f32', 'f16', 'int8'],
  },
  'vocab-add': { type: 'number', help: 'vocab: new tokens to learn and initialise', default: 1024 },
  'vocab-repeats': { type: 'number', help: 'vocab: runs (the lowest time is kept)', default: 2 },
  objectives: { type: 'string', help: 'sft,clo', default: 'sft,clo' },
  batch: { type: 'number', help: 'batch size', default: 8 },
  seq: { type: 'number', help: 'sequence length', default: 128 },
  seconds: { type: 'number', help: 'time budget per measurement', default: 20 },
  'max-steps': { type: 'number', help: 'steps per measurement at most', default: 10 },
  'min-steps': {
    type: 'number',
    help: 'timed steps per measurement at least (after the profiled first step)',
    default: 2,
  },
  checkpointing: {
    type: 'string',
    help: 'gradient checkpointing: off, on, both (default: both for smollm135m, on for qwen05b, else off)',
    choices: ['off', 'on', 'both'],
  },
  anchor: { type: 'boolean', help: 'run the PyTorch anchor when available', default: true },
  out: { type: 'string', help: 'output JSON', default: 'bench/results/bench.json' },
  'all-software': { type: 'boolean', help: 'also measure the big config on a software WebGPU adapter (slow)' },
  anchors: {
    type: 'string',
    help: 'comma list of Python interpreters to run the PyTorch anchor under (one row per distinct torch)',
    default: '/usr/bin/python3,python3',
  },
  threads: {
    type: 'number',
    help: 'wasm threads (default: CLO_LAB_WASM_THREADS or every core; 1 = single-threaded)',
  },
  'ref-cache': {
    type: 'boolean',
    help: 'CLO: steady state of the reference cache (rows seen before); off = reference forward every step',
    default: true,
  },
  help: { type: 'boolean', help: 'print this help' },
};
if (process.argv.includes('--help')) {
  process.stdout.write(
    `${helpText('bench', 'Measures training and inference speed per backend and model (npm run bench).', SPEC)}\n`,
  );
  process.exit(0);
}
const args = parseArgs(process.argv.slice(2), SPEC, 'bench');

const log = (s: string) => process.stderr.write(s + '\n');
/** --batch/--seq given: used for every config (else smollm135m runs at 1 × 256). */
let explicitShape = false;
let disposeLastModel: (() => void) | null = null;

/**
 * wasm threads: tfjs-backend-wasm's threaded SIMD build, started under Node by cli/wasm-threads-node.ts
 * (tfjs itself disables it there). `--threads` (default: every core) is what is asked for; each result
 * row records `threads`, what XNNPACK actually ran with.
 */
let wasmThreads = 1;

/** The large shapes: random weights, batch 1 × 256 by default, wasm only, their own PyTorch anchor (SHAPE). */
const LARGE: Record<string, ModelConfig> = { smollm135m: SMOLLM2_135M, qwen05b: QWEN25_05B };

/** The frozen base a config runs with: --base, else the default for its size (f32 for the small ones). */
function baseFor(config: string): BaseFormat {
  const shape = LARGE[config];
  if (!shape) return 'f32';
  return (args.base as BaseFormat | undefined) ?? defaultBaseFormat(shape);
}

async function makeModel(name: string): Promise<LoadedModel> {
  const stories = await loadModelArg('stories260K');
  if (name === 'stories260K') return stories;
  if (LARGE[name])
    return {
      name: `${name}-shaped`,
      config: LARGE[name],
      // packed block matrices are made packed (no f32 copy of them on the heap at any time)
      weights: randomWeights(LARGE[name], 1, 0.02, baseFor(name)),
      tokenizer: stories.tokenizer,
      source: 'random',
    };
  const config = BIG_6L;
  return {
    name: 'big-6L-d256',
    config,
    weights: randomWeights(config, 1),
    tokenizer: stories.tokenizer,
    source: 'random',
  };
}

function syntheticSeqs(n: number, T: number, vocab: number, rng: () => number): TokenizedSeq[] {
  return Array.from({ length: n }, () => ({
    ids: Array.from({ length: T }, () => 3 + Math.floor(rng() * (vocab - 3))),
    start: T / 2,
  }));
}

const DUMMY: Record<string, TrainRow> = {
  sft: { kind: 'sft', prompt: 'a', response: 'b' },
  clo: { kind: 'clo', xEn: 'a', yEn: 'b', xTgt: 'c', yTgt: 'd', lang: 'ko' },
};

async function measure(
  model: LoadedModel,
  objective: 'sft' | 'clo',
  B: number,
  T: number,
  checkpointing = false,
  base: BaseFormat = 'f32',
) {
  const cfg = defaultTrainConfig(objective, { batchSize: B, maxSeqLen: T, steps: 1000, checkpointing });
  const trainer = Trainer.create(model, [DUMMY[objective]], cfg);
  const rng = mulberry32(7);
  const nSeq = objective === 'sft' ? B : 4 * B;
  // Split into micro-batches (gradient accumulation, same work) when one batch would not fit the
  // wasm heap by the memory guard's estimate; CLO keeps groups of 4 sequences together.
  const group = objective === 'sft' ? 1 : 4;
  let micro = 1;
  while (
    tf.getBackend() === 'wasm' &&
    nSeq / micro > group &&
    !checkBudget(
      estimatePeak(model.config, {
        batchSize: nSeq / micro,
        seqLen: T,
        lora: { r: 8, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] },
        training: true,
        checkpointing,
        backend: tf.getBackend(),
        base,
      }),
      { totalBytes: 3 * 2 ** 30 },
    ).ok
  )
    micro *= 2;
  // With the reference cache (DPO/CLO), a run computes each row's reference once, in its first epoch;
  // the bench measures the later steps: one fixed batch, whose reference the warm-up step computes.
  const fixed = objective !== 'sft' && args['ref-cache'] ? syntheticSeqs(nSeq, T, model.config.vocabSize, rng) : null;
  if (!args['ref-cache']) trainer.referenceCache = null;
  const batch = () => {
    const all = fixed ?? syntheticSeqs(nSeq, T, model.config.vocabSize, rng);
    const per = nSeq / micro;
    return Array.from({ length: micro }, (_, i) => all.slice(i * per, (i + 1) * per));
  };
  const tokensPerStep = nSeq * T;
  let rssPeak = process.memoryUsage().rss;
  const rssTimer = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
  const t0w = performance.now();
  const prof = await tf.profile(async () => {
    await trainer.step(batch());
  });
  const warmupMs = performance.now() - t0w;
  const times: number[] = [];
  const cpu: number[] = [];
  const budget = (args.seconds as number) * 1000;
  const started = performance.now();
  const minSteps = args['min-steps'] as number;
  while (
    times.length < (args['max-steps'] as number) &&
    (times.length < minSteps || performance.now() - started < budget)
  ) {
    const b = batch();
    const c = process.cpuUsage();
    const t = performance.now();
    await trainer.step(b);
    times.push(performance.now() - t);
    const d = process.cpuUsage(c);
    cpu.push((d.user + d.system) / 1000);
  }
  const tensorsAfter = tf.memory().numTensors;
  const heap = heapOf(tf.backend());
  clearInterval(rssTimer);
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  trainer.dispose();
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  // CPU time of this process per step: less sensitive than wall time to other jobs on a shared machine
  const cpuMedian = cpu[Math.floor(cpu.length / 2)];
  return {
    steps: times.length,
    ms_per_step: +median.toFixed(1),
    tokens_per_s: +((tokensPerStep / median) * 1000).toFixed(1),
    first_step_ms: +warmupMs.toFixed(1),
    cpu_ms_per_step: +cpuMedian.toFixed(1),
    reference: objective === 'sft' ? undefined : args['ref-cache'] ? 'cached' : 'per-step',
    peak_bytes: prof.peakBytes,
    rss_bytes: process.memoryUsage().rss,
    rss_peak_bytes: rssPeak,
    tensors_after: tensorsAfter,
    micro_batches: micro,
    checkpointing,
    base,
    ...(heap ? { wasm_heap_bytes: heap.memory.buffer.byteLength } : {}),
    ...estimateAgainst(
      prof.peakBytes,
      estimatePeak(model.config, {
        batchSize: nSeq / micro,
        seqLen: T,
        lora: { r: 8, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] },
        training: true,
        checkpointing,
        backend: tf.getBackend(),
        base,
      }).total,
    ),
  };
}

/** The memory guard's estimate beside the measured peak: estimate / peak (goal: within 25%). */
function estimateAgainst(peak: number, estimate: number) {
  return { estimate_bytes: estimate, estimate_ratio: +(estimate / peak).toFixed(3) };
}

/** Time to generate `n` tokens (greedy, KV cache) after a 16-token prompt, and the tensor peak meanwhile. */
async function generateSpeed(model: LoadedModel, n = 8) {
  const prompt = [1, ...Array.from({ length: 15 }, (_, i) => 3 + ((i * 37) % 400))];
  const t = performance.now();
  let ids: number[] = [];
  const prof = await tf.profile(async () => {
    ids = (await generate(model, prompt, { maxNewTokens: n })).ids;
  });
  const ms = performance.now() - t;
  return {
    tokens: ids.length,
    ms: Math.round(ms),
    ms_per_token: +(ms / Math.max(1, ids.length)).toFixed(1),
    peak_bytes: prof.peakBytes,
  };
}

const ANCHOR_SCRIPT = resolve(PROJECT_ROOT, '../shared/bench/torch_anchor.py');

/** Interpreters from --anchors that import torch, one per distinct torch version (Debian's 1.13, pip's 2.x). */
function anchorInterpreters(): { python: string; torch: string }[] {
  if (!args.anchor || !existsSync(ANCHOR_SCRIPT)) return [];
  const out: { python: string; torch: string }[] = [];
  for (const python of String(args.anchors).split(',').filter(Boolean)) {
    try {
      const torch = execFileSync(python, ['-c', 'import torch; print(torch.__version__)'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
      if (!out.some((a) => a.torch === torch)) out.push({ python, torch });
    } catch {
      /* not installed for this interpreter */
    }
  }
  return out;
}

function runAnchor(
  config: string,
  objective: string,
  B: number,
  T: number,
  python = '/usr/bin/python3',
): Record<string, unknown> | null {
  if (!args.anchor || !existsSync(ANCHOR_SCRIPT)) return null;
  const env = {
    ...process.env,
    B: String(B),
    T: String(T),
    STEPS: LARGE[config] ? '2' : '5',
    ...(config === 'big' ? { BIG: '1' } : {}),
    ...(LARGE[config] ? { SHAPE: config } : {}),
  };
  const out = execFileSync(python, [ANCHOR_SCRIPT, objective], { env, encoding: 'utf8', timeout: 600_000 });
  return JSON.parse(out.trim().split('\n').pop()!);
}

/**
 * Vocabulary step speed: learning `add` tokens from the bundled Korean corpus, then SALT's two parts
 * (the skip-gram auxiliary space, then per-token sparsemax + least squares), via extendModel's own
 * timings. The growth of the model (one tensor concat) is not included.
 */
async function vocabSpeed(): Promise<Record<string, unknown>> {
  const add = args['vocab-add'] as number;
  const repeats = Math.max(1, args['vocab-repeats'] as number);
  const base = await loadModelArg('stories260K');
  let bytes = 0;
  const corpus = DEFAULT_CORPUS_FILES.flatMap((f) => {
    const text = readFileSync(resolve(PROJECT_ROOT, 'public', f), 'utf8');
    bytes += Buffer.byteLength(text);
    return corpusTexts(text, f);
  });
  type Run = {
    learn_ms: number;
    aux_ms: number;
    init_ms: number;
    learn_cpu_ms: number;
    salt_cpu_ms: number;
    salt_aux_cpu_ms: number;
  };
  const runs: Run[] = [];
  // process CPU time (user + system) at the stage boundaries extendModel reports: on a shared machine
  // wall time counts the other jobs too, CPU time counts this work alone
  const cpuMs = () => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1000;
  };
  for (let r = 0; r < repeats; r++) {
    const c0 = cpuMs();
    let cLearn = NaN;
    let cAux = NaN;
    const ext = await extendModel(base, corpus, {
      add,
      init: 'salt',
      seed: 0,
      onProgress: (stage, done, total) => {
        if (stage === 'learn' && done === total) cLearn = cpuMs();
        if (stage === 'init' && done === 0) cAux = cpuMs();
      },
    });
    const cEnd = cpuMs();
    const t = ext.timings;
    runs.push({
      learn_ms: Math.round(t.learnMs),
      aux_ms: Math.round(t.auxMs),
      init_ms: Math.round(t.initMs),
      learn_cpu_ms: Math.round(cLearn - c0),
      salt_cpu_ms: Math.round(cEnd - cLearn),
      salt_aux_cpu_ms: Math.round(cAux - cLearn),
    });
    tf.dispose([ext.model.weights.embed, ...(ext.model.weights.lmHead ? [ext.model.weights.lmHead] : [])]);
    const x = runs[r];
    log(
      `vocab run ${r + 1}/${repeats}: learn ${add} tokens ${x.learn_ms} ms wall (${x.learn_cpu_ms} ms CPU), SALT init ${x.aux_ms + x.init_ms} ms wall (skip-gram ${x.aux_ms} + least squares ${x.init_ms}; ${x.salt_cpu_ms} ms CPU)`,
    );
  }
  const min = (f: (x: Run) => number) => Math.min(...runs.map(f));
  return {
    model: base.name,
    add,
    corpus_files: DEFAULT_CORPUS_FILES,
    corpus_bytes: bytes,
    corpus_texts: corpus.length,
    repeats,
    cpus: (await import('node:os')).cpus().length,
    load_average: (await import('node:os')).loadavg()[0],
    learn_ms: min((x) => x.learn_ms),
    salt_init_ms: min((x) => x.aux_ms + x.init_ms),
    salt_aux_ms: min((x) => x.aux_ms),
    salt_lstsq_ms: min((x) => x.init_ms),
    learn_cpu_ms: min((x) => x.learn_cpu_ms),
    salt_init_cpu_ms: min((x) => x.salt_cpu_ms),
    runs,
  };
}

async function writeDoc(
  results: Record<string, unknown>[],
  anchors: Record<string, unknown>[],
  vocab: Record<string, unknown> | null = null,
  tokenizer: TokenizerSpeedRow[] | null = null,
): Promise<string> {
  const doc = {
    date: new Date().toISOString(),
    node: process.version,
    tfjs: tf.version.tfjs,
    cpus: (await import('node:os')).cpus().length,
    wasm_threads: { threads: wasmThreads, asked: (args.threads as number | undefined) ?? nodeWasmThreadsWanted() },
    results,
    anchors,
    ...(vocab ? { vocab } : {}),
    ...(tokenizer ? { tokenizer } : {}),
  };
  const out = resolve(PROJECT_ROOT, args.out as string);
  mkdirSync(resolve(out, '..'), { recursive: true });
  writeFileSync(out, JSON.stringify(doc, null, 1));
  return out;
}

async function main() {
  const B = args.batch as number;
  const T = args.seq as number;
  explicitShape = process.argv.some((a) => a.startsWith('--batch') || a.startsWith('--seq'));
  const results: Record<string, unknown>[] = [];
  const configs = String(args.configs).split(',');
  let vocab: Record<string, unknown> | null = null;
  if (configs.includes('vocab')) {
    await initNodeBackend('cpu', log);
    vocab = await vocabSpeed();
    const vOut = resolve(PROJECT_ROOT, 'bench/results/vocab-speed.json');
    mkdirSync(resolve(vOut, '..'), { recursive: true });
    writeFileSync(vOut, JSON.stringify({ date: new Date().toISOString(), node: process.version, ...vocab }, null, 1));
    log(
      `vocab: learning ${vocab.add} tokens ${vocab.learn_ms} ms wall / ${vocab.learn_cpu_ms} ms CPU, SALT init ${vocab.salt_init_ms} ms wall / ${vocab.salt_init_cpu_ms} ms CPU (lowest of ${vocab.repeats}; load average ${Number(vocab.load_average).toFixed(1)}) → ${vOut}`,
    );
    if (configs.every((c) => c === 'vocab')) {
      console.log(JSON.stringify({ out: vOut, vocab }));
      return;
    }
  }
  let tokenizer: TokenizerSpeedRow[] | null = null;
  if (configs.includes('tokenizer')) {
    tokenizer = tokenizerSpeed();
    for (const r of tokenizer)
      log(
        `tokenizer: ${r.chars} chars → ${r.tokens} tokens in ${r.heap_ms} ms (old rescan: ${r.scan_ms === null ? 'skipped, minutes' : `${r.scan_ms} ms`})`,
      );
    if (configs.every((c) => c === 'vocab' || c === 'tokenizer')) {
      console.log(JSON.stringify({ vocab, tokenizer }));
      return;
    }
  }
  const trainConfigs = configs.filter((c) => c !== 'vocab' && c !== 'tokenizer');
  const backends = String(args.backends).split(',');
  if (backends.includes('webgpu')) await enableNodeWebgpu();
  for (const backend of backends) {
    let choice;
    try {
      choice = await initNodeBackend(backend, log, { threads: args.threads as number | undefined });
      if (choice.name === 'wasm') {
        wasmThreads = wasmThreadsInUse();
        log(`wasm threads: ${wasmThreads}`);
      }
    } catch (e) {
      log(`skip ${backend}: ${(e as Error).message}`);
      results.push({ backend, skipped: (e as Error).message });
      continue;
    }
    for (const config of trainConfigs) {
      if (config === 'dispatch' && choice.name !== 'webgpu') continue;
      const model = await makeModel(config);
      // peaks count every live tensor: free each config's model before the next (its weights, kept transposes and head blocks)
      disposeLastModel?.();
      disposeLastModel = () => {
        const ws = [
          model.weights.embed,
          model.weights.posEmbed,
          model.weights.lmHead,
          model.weights.finalNorm.w,
          model.weights.finalNorm.b,
          ...model.weights.layers.flatMap((l) => [
            l.attnNorm.w,
            l.attnNorm.b,
            l.mlpNorm.w,
            l.mlpNorm.b,
            ...Object.values(l.linears).flatMap((x) => [x?.w instanceof tf.Tensor ? x.w : undefined, x?.b]),
          ]),
        ].filter((t) => !!t) as tf.Tensor[];
        releaseTransposes(ws);
        ws.forEach((w) => releaseHeadBlocks(w));
        disposeWeights(model.weights);
      };
      if (config === 'dispatch') {
        const [b, t, n] = [args['dispatch-batch'], args['dispatch-seq'], args['dispatch-steps']] as number[];
        log(`counting webgpu dispatches per CLO step, ${model.name} (batch ${b} × seq ${t}, ${n} steps)…`);
        const d = await webgpuDispatches(model, b, t, n);
        for (const r of d.rows)
          log(
            `  ${r.path}: ${r.dispatches_per_step} dispatches, ${r.readbacks_per_step} readbacks per step, ${r.tokens_per_s} tokens/s`,
          );
        results.push({
          backend,
          adapter: choice.adapterInfo ?? null,
          config,
          objective: 'clo',
          model: model.name,
          ...d,
        });
        await writeDoc(results, [], vocab, tokenizer);
        continue;
      }
      for (const objective of String(args.objectives).split(',') as ('sft' | 'clo')[]) {
        if (LARGE[config] && backend !== 'wasm') {
          results.push({
            backend,
            config,
            objective,
            skipped:
              'the 135M- and 0.5B-shaped configs are measured on wasm only (cpu is plain JS; WebGPU here is software)',
          });
          continue;
        }
        if (backend === 'cpu' && config === 'big') {
          results.push({
            backend,
            config,
            objective,
            skipped: 'plain-JS cpu backend too slow for the big config within the budget',
          });
          continue;
        }
        if (
          backend === 'webgpu' &&
          config === 'big' &&
          isSoftwareAdapter(choice.adapterInfo) &&
          !args['all-software']
        ) {
          results.push({
            backend,
            config,
            objective,
            skipped: 'software (SwiftShader) WebGPU: one big-config step takes minutes; --all-software measures it',
          });
          continue;
        }
        const ck =
          (args.checkpointing as string | undefined) ??
          (config === 'smollm135m' ? 'both' : config === 'qwen05b' ? 'on' : 'off');
        const base = baseFor(config);
        for (const checkpointing of ck === 'both' ? [false, true] : [ck === 'on']) {
          const [b, t] = LARGE[config] && !explicitShape ? [1, 256] : [B, T];
          // Micro-batches cannot split a single row: a step the guard says overflows the wasm heap would abort the process.
          const est = estimatePeak(model.config, {
            batchSize: b * (objective === 'sft' ? 1 : 4),
            seqLen: t,
            lora: { r: 8, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] },
            training: true,
            checkpointing,
            backend,
            base,
          });
          const fits = checkBudget(est, backend === 'wasm' ? { totalBytes: WASM_HEAP_BYTES } : {});
          if (!fits.ok && b === 1) {
            log(`  skip ${config} ${objective}${checkpointing ? ' (checkpointing)' : ''}: ${fits.advice}`);
            results.push({
              backend,
              config,
              objective,
              batch: b,
              seq: t,
              checkpointing,
              estimate_bytes: est.total,
              skipped: `memory guard: ${fits.advice}`,
            });
            continue;
          }
          log(
            `measuring ${backend} ${config} ${objective} (batch ${b} × seq ${t}${checkpointing ? ', checkpointing' : ''})…`,
          );
          const r = await measure(model, objective, b, t, checkpointing, base);
          log(
            `  ${r.tokens_per_s} tokens/s, ${r.ms_per_step} ms/step, peak ${(r.peak_bytes / 2 ** 20).toFixed(1)} MiB, estimate ${(r.estimate_bytes / 2 ** 20).toFixed(1)} MiB, RSS peak ${(r.rss_peak_bytes / 2 ** 20).toFixed(0)} MiB`,
          );
          results.push({
            backend,
            adapter: choice.adapterInfo ?? null,
            ...(choice.name === 'wasm' ? { threads: wasmThreads } : {}),
            config,
            objective,
            batch: b,
            seq: t,
            ...r,
            ...(config === 'qwen05b' ? { generate: await generateSpeed(model) } : {}),
          });
          await writeDoc(results, [], vocab, tokenizer); // after every measurement: a later one that aborts the process loses nothing
        }
      }
    }
  }
  const anchors: Record<string, unknown>[] = [];
  const interpreters = anchorInterpreters();
  if (interpreters.length === 0)
    log(
      '  PyTorch not installed: anchor skipped (apt-get install -y python3-torch libopenblas0-pthread; pip install torch)',
    );
  for (const { python, torch } of interpreters)
    for (const config of trainConfigs.filter((c) => c !== 'dispatch'))
      for (const objective of String(args.objectives).split(',')) {
        log(`anchor ${config} ${objective} (torch ${torch}, ${python})…`);
        const [ab, at] = LARGE[config] && !explicitShape ? [1, 256] : [B, T];
        const a = runAnchor(config, objective, ab, at, python);
        if (!a) break;
        anchors.push({ config, objective, python, torch, ...a });
        const best = results
          .filter((r) => r.config === config && r.objective === objective && typeof r.tokens_per_s === 'number')
          .sort((x, y) => (y.tokens_per_s as number) - (x.tokens_per_s as number))[0];
        if (best) {
          const ratio = (best.tokens_per_s as number) / (a.tokens_per_s as number);
          log(
            `  pytorch ${torch}: ${a.tokens_per_s} tokens/s; engine best (${best.backend}) ${best.tokens_per_s} → ratio ${ratio.toFixed(2)}`,
          );
          (anchors[anchors.length - 1] as Record<string, unknown>).engine_best = {
            backend: best.backend,
            tokens_per_s: best.tokens_per_s,
            ratio: +ratio.toFixed(3),
          };
        }
      }
  anchors
    .filter((a) => a.engine_best)
    .forEach((a) =>
      log(`ratio ${a.config} ${a.objective} vs torch ${a.torch}: ${(a.engine_best as { ratio: number }).ratio}`),
    );
  const out = await writeDoc(results, anchors, vocab, tokenizer);
  console.log(JSON.stringify({ out, results: results.length, anchors: anchors.length, vocab: vocab !== null }));
}

main().catch((e) => {
  process.stderr.write(`error: ${(e as Error).message}\n`);
  process.exit(1);
});
