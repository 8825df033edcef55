/**
 * Vocabulary-extension bench (docs/methods.md §8): vocabulary learning time on the bundled Korean
 * corpus, SALT/mean/random initialisation time of N tokens, and continued pretraining (pt, new rows
 * only, same seed and data for every init) with held-out bits/char at fixed steps.
 *   npm run -s bench:vocab -- [--add 1024] [--steps 200] [--eval-every 50] [--heldout 20] [--backend wasm]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend, loadModelArg, PROJECT_ROOT } from '../cli/node-env';
import { corpusTexts, DEFAULT_CORPUS_FILES, HELDOUT_FILES } from '../src/lib/vocab/corpus';
import { extendModel } from '../src/lib/vocab/extend-model';
import { INIT_METHODS } from '../src/lib/vocab/init';
import { Trainer } from '../src/lib/train/trainer';
import { defaultTrainConfig } from '../src/lib/train/defaults';
import { bitsPerChar } from '../src/lib/eval/bits-per-char';
import type { LoadedModel } from '../src/lib/model/model';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const add = arg('add', 1024);
const steps = arg('steps', 200);
const every = arg('eval-every', 50);
const nHeld = arg('heldout', 20);
const bi = process.argv.indexOf('--backend');
const backend = await initNodeBackend(bi >= 0 ? process.argv[bi + 1] : 'wasm', (s) => process.stderr.write(s + '\n'));
const read = (f: string) => corpusTexts(readFileSync(resolve(PROJECT_ROOT, 'public', f), 'utf8'), f);
const corpus = DEFAULT_CORPUS_FILES.flatMap(read);
const heldout = HELDOUT_FILES.flatMap(read).slice(0, nHeld);
const corpusBytes = DEFAULT_CORPUS_FILES.reduce(
  (n, f) => n + readFileSync(resolve(PROJECT_ROOT, 'public', f)).length,
  0,
);
const base = await loadModelArg('stories260K');
const rows = corpus.map((t) => ({ kind: 'sft' as const, prompt: '', response: t }));
const result: Record<string, unknown> = {
  backend: backend.name,
  add,
  steps,
  corpus_files: DEFAULT_CORPUS_FILES,
  corpus_bytes: corpusBytes,
  heldout_texts: heldout.length,
};
const baseBpc = await bitsPerChar(base, heldout);
result.base = { tokens_per_char: baseBpc.tokens_per_char, bits_per_char: baseBpc.bits_per_char };
const table: Record<string, Record<number, number>> = {};
const timings: Record<string, unknown> = {};
for (const init of INIT_METHODS) {
  const ext = await extendModel(base, corpus, { add, init, seed: 0 });
  timings[init] = ext.timings;
  process.stderr.write(`${init}: ${JSON.stringify(ext.timings)}\n`);
  const cfg = defaultTrainConfig('pt', {
    steps,
    batchSize: 4,
    lr: 3e-3,
    maxSeqLen: 128,
    seed: 0,
    warmupSteps: 10,
    trainRowsFrom: base.config.vocabSize,
    lora: { r: 8, alpha: 16, dropout: 0, targets: [], init: 'gaussian' },
  });
  const trainer = Trainer.create(ext.model, rows, cfg);
  const evalNow = async () => {
    const m = trainer.rows!.merged();
    const model: LoadedModel = {
      ...ext.model,
      weights: { ...ext.model.weights, embed: m.embed, lmHead: m.lmHead ?? ext.model.weights.lmHead },
    };
    const r = await bitsPerChar(model, heldout);
    m.embed.dispose();
    m.lmHead?.dispose();
    return r;
  };
  table[init] = {};
  const r0 = await evalNow();
  table[init][0] = r0.bits_per_char;
  (result as Record<string, unknown>)[`tokens_per_char_${init}`] = r0.tokens_per_char;
  while (!trainer.done) {
    const m = await trainer.step();
    if (m.step % every === 0 || m.step === steps) {
      table[init][m.step] = (await evalNow()).bits_per_char;
      process.stderr.write(`${init} step ${m.step} loss ${m.loss.toFixed(3)} bpc ${table[init][m.step].toFixed(3)}\n`);
    }
  }
  (result as Record<string, unknown>)[`loss_${init}`] = trainer.metrics.map((m) => m.loss);
  trainer.dispose();
  ext.model.weights.embed.dispose();
}
result.timings_ms = timings;
result.bits_per_char = table;
writeFileSync(resolve(PROJECT_ROOT, 'bench/vocab-results.json'), JSON.stringify(result, null, 1) + '\n');
const stepsList = Object.keys(table.salt).map(Number);
console.log(`| init | ${stepsList.map((s) => `step ${s}`).join(' | ')} |`);
console.log(`|---|${stepsList.map(() => '---').join('|')}|`);
for (const init of INIT_METHODS)
  console.log(`| ${init} | ${stepsList.map((s) => table[init][s].toFixed(3)).join(' | ')} |`);
console.log(JSON.stringify({ base: result.base, timings_ms: timings }));
tf.disposeVariables();
