/**
 * One CLO LoRA step of the real-model shapes on WebGPU, f32 frozen base against the packed-f16 base
 * (the WGSL packed matmul): `node cli/launch.mjs bench/webgpu-large.ts [--shapes smollm135m,qwen05b]
 * [--seq 16] [--out FILE]`. Random weights (the same values for both bases: the f16 base is the f32 one
 * packed), one fixed CLO group of 4 sequences, dropout 0; prints and writes JSON rows with the step's
 * loss, time and tensor peak per base, and the relative loss difference of f16 against f32 (goal: within
 * 1e-2). On a software adapter (SwiftShader) a step of these shapes takes minutes, so this is a bench,
 * not a test; the row says which adapter ran it.
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../cli/node-env';
import { parseArgs, type Spec } from '../cli/args';
import { QWEN25_05B, SMOLLM2_135M } from '../src/lib/model/reference-shapes';
import type { ModelConfig } from '../src/lib/model/config';
import { randomWeights } from '../src/lib/model/random';
import { disposeWeights } from '../src/lib/model/weights';
import { packFrozenBase, type BaseFormat } from '../src/lib/model/packed-base';
import { mulberry32 } from '../src/lib/model/sample';
import type { TokenizedSeq } from '../src/lib/model/batch';
import { Trainer } from '../src/lib/train/trainer';
import { defaultTrainConfig } from '../src/lib/train/defaults';
import { FakeTokenizer } from '../tests/helpers/fake-tokenizer';

const SPEC: Spec = {
  shapes: { type: 'string', help: 'comma list: smollm135m,qwen05b', default: 'smollm135m,qwen05b' },
  seq: { type: 'number', help: 'sequence length (4 sequences: one CLO group)', default: 16 },
  out: { type: 'string', help: 'output JSON', default: 'bench/results/webgpu-large.json' },
};
const args = parseArgs(process.argv.slice(2), SPEC, 'webgpu-large');
const SHAPES: Record<string, ModelConfig> = { smollm135m: SMOLLM2_135M, qwen05b: QWEN25_05B };
const log = (s: string) => process.stderr.write(s + '\n');

const choice = await initNodeBackend('webgpu', log);
if (choice.name !== 'webgpu') {
  log('webgpu-large: no WebGPU adapter in this Node (docs/webgpu-here.md)');
  process.exit(1);
}
const info = choice.adapterInfo;
const adapter = info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') : 'unknown';
log(`adapter: ${adapter}`);

const T = args.seq as number;
const tokenizer = new FakeTokenizer([...'abcd']);

async function step(name: string, config: ModelConfig, base: BaseFormat) {
  // the same random values for both bases; the f16 base is that f32 model packed
  const weights = randomWeights(config, 1);
  const model = { name, source: 'random', config, weights, tokenizer };
  if (base !== 'f32') packFrozenBase(model, base);
  const rng = mulberry32(5);
  const seqs: TokenizedSeq[] = Array.from({ length: 4 }, () => ({
    ids: Array.from({ length: T }, () => 3 + Math.floor(rng() * (config.vocabSize - 3))),
    start: T / 2,
  }));
  const cfg = defaultTrainConfig('clo', {
    batchSize: 1,
    maxSeqLen: T,
    steps: 10,
    lora: { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], init: 'gaussian' },
  });
  const trainer = Trainer.create(model, [{ kind: 'clo', xEn: 'a', yEn: 'b', xTgt: 'c', yTgt: 'd', lang: 'ko' }], cfg);
  const t0 = performance.now();
  let loss = NaN;
  const prof = await tf.profile(async () => {
    loss = (await trainer.step([seqs])).loss;
  });
  const ms = performance.now() - t0;
  trainer.dispose();
  disposeWeights(model.weights);
  const row = { shape: name, base, seq: T, loss, ms: Math.round(ms), peak_bytes: prof.peakBytes };
  log(JSON.stringify(row));
  return row;
}

const rows = [];
for (const name of String(args.shapes).split(',').filter(Boolean)) {
  const config = SHAPES[name];
  if (!config) throw new Error(`unknown shape ${name}`);
  const f32 = await step(name, config, 'f32');
  const f16 = await step(name, config, 'f16');
  rows.push({
    shape: name,
    adapter,
    rows: [f32, f16],
    loss_rel_diff: Math.abs(f16.loss - f32.loss) / Math.abs(f32.loss),
  });
}
const out = { date: new Date().toISOString(), adapter, results: rows };
writeFileSync(args.out as string, JSON.stringify(out, null, 2) + '\n');
process.stdout.write(JSON.stringify(out, null, 2) + '\n');
