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
import { initNodeBackend } from '../cli/node-env';
import { parseArgs, type Spec } from '../cli/args';
import { QWEN25_05B, SMOLLM2_135M } from '../src/lib/model/reference-shapes';
import type { ModelConfig } from '../src/lib/model/config';
import type { BaseFormat } from '../src/lib/model/packed-base';
import { randomCloStep } from '../tests/helpers/clo-step';

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

async function step(name: string, config: ModelConfig, base: BaseFormat) {
  // the same random values for both bases; the f16 base is that f32 model packed
  const r = await randomCloStep(config, base, { T, weightSeed: 1, dataSeed: 5 });
  const row = { shape: name, base, seq: T, loss: r.loss, ms: Math.round(r.ms), peak_bytes: r.peakBytes };
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
