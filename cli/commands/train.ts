import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UsageError, helpText, intFlag, parseArgs, type Spec } from '../args';
import { BACKEND_FLAG, HELP_FLAG, MODEL_FLAGS } from '../common-flags';
import { initNodeBackend, loadModelArg } from '../node-env';
import { parseDataFile, formatErrors } from '../../src/lib/data';
import { Trainer } from '../../src/lib/train/trainer';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import type { ObjectiveName, TrainObjectiveName } from '../../src/lib/train/types';
import { addedRowsStart, parseTextRows, writeTrainedRows } from '../vocab-io';
import { LINEAR_NAMES, type LinearName } from '../../src/lib/model/weights';
import { snapshotLora } from '../../src/lib/lora/lora';
import { writeAdapterDir } from '../adapter-io';
import { checkMemory } from '../../src/lib/model/memory';

const KIND: Record<ObjectiveName, 'sft' | 'preference' | 'clo'> = { sft: 'sft', dpo: 'preference', orpo: 'preference', clo: 'clo' };

const SPEC: Spec = {
  ...MODEL_FLAGS,
  objective: { type: 'string', help: 'training objective (pt: continued pretraining on {"text"} rows or plain text lines)', required: true, choices: ['sft', 'dpo', 'orpo', 'clo', 'pt'] },
  'train-embeddings': { type: 'string', help: 'new: also train the embedding rows added by `vocab` (and untied head rows); none: frozen', choices: ['new', 'none'], default: 'none' },
  data: { type: 'string', help: 'JSONL / JSON / CSV training rows (cli.md shapes)', required: true },
  steps: { type: 'number', help: 'optimizer steps', default: 50 },
  'batch-size': { type: 'number', help: 'rows per micro-batch (CLO: each row = 4 sequences)', default: 8 },
  'grad-accum': { type: 'number', help: 'micro-batches per step', default: 1 },
  lr: { type: 'number', help: 'peak learning rate', default: 2e-4 },
  'warmup-steps': { type: 'number', help: 'linear warmup steps, then cosine decay', default: 0 },
  'weight-decay': { type: 'number', help: 'AdamW decoupled weight decay', default: 0 },
  'clip-norm': { type: 'number', help: 'global gradient-norm clip', default: 1 },
  'lora-rank': { type: 'number', help: 'LoRA rank r', default: 8 },
  'lora-alpha': { type: 'number', help: 'LoRA alpha (scale = alpha / r)', default: 16 },
  'lora-dropout': { type: 'number', help: 'dropout on the adapter input', default: 0 },
  'lora-targets': { type: 'string', help: 'comma list of PEFT names (q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj)', default: 'q_proj,k_proj,v_proj,o_proj' },
  beta: { type: 'number', help: 'DPO/CLO β', default: 0.1 },
  lambda: { type: 'number', help: 'CLO: weight of NLL_target (default 0.5); ORPO: weight of the odds-ratio term (default 0.1)' },
  'max-seq-len': { type: 'number', help: 'tokens per sequence (prompts are left-truncated)', default: 128 },
  seed: { type: 'number', help: 'seed for LoRA init, data order and dropout', default: 0 },
  'skip-bad-rows': { type: 'boolean', help: 'train on the valid rows when some rows are malformed (they are listed on stderr)' },
  backend: BACKEND_FLAG,
  out: { type: 'string', help: 'output folder (adapter + run.json)', required: true },
  json: { type: 'boolean', help: 'per-step JSON lines on stderr, summary JSON on stdout' },
  help: HELP_FLAG,
};

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help')) return console.log(helpText('train', 'Trains a LoRA adapter; writes the adapter (PEFT layout) and run.json to --out.', SPEC)), 0;
  const a = parseArgs(argv, SPEC, 'train');
  const objective = a.objective as TrainObjectiveName;
  const targets = String(a['lora-targets']) === 'none' ? [] : String(a['lora-targets']).split(',').map((s) => s.trim()).filter(Boolean);
  for (const t of targets) if (!LINEAR_NAMES.includes(t as LinearName)) throw new UsageError(`train: flag --lora-targets: unknown target "${t}" (expected ${LINEAR_NAMES.join(',')})`);
  const dataPath = a.data as string;
  if (!existsSync(dataPath)) throw new UsageError(`train: flag --data: file not found: ${dataPath}`);
  const cfg = defaultTrainConfig(objective, {
    steps: intFlag(a, 'steps', 'train'),
    batchSize: intFlag(a, 'batch-size', 'train'),
    gradAccum: intFlag(a, 'grad-accum', 'train'),
    lr: a.lr as number,
    warmupSteps: intFlag(a, 'warmup-steps', 'train', 0),
    weightDecay: a['weight-decay'] as number,
    clipNorm: a['clip-norm'] as number,
    maxSeqLen: intFlag(a, 'max-seq-len', 'train', 2),
    seed: a.seed as number,
    beta: a.beta as number,
    ...(a.lambda !== undefined ? { lambda: a.lambda as number } : {}),
    lora: { r: intFlag(a, 'lora-rank', 'train'), alpha: a['lora-alpha'] as number, dropout: a['lora-dropout'] as number, targets: targets as LinearName[], init: 'gaussian' },
  });
  const log = (s: string) => process.stderr.write(s + '\n');
  const backend = await initNodeBackend(a.backend as string | undefined, log);
  const model = await loadModelArg(a.model as string, a.tokenizer as string | undefined);
  const trainRowsFrom = a['train-embeddings'] === 'new' ? addedRowsStart(model, a.model as string) : undefined;
  if (trainRowsFrom !== undefined) cfg.trainRowsFrom = trainRowsFrom;
  if (targets.length === 0 && trainRowsFrom === undefined) throw new UsageError('train: nothing to train (--lora-targets none needs --train-embeddings new)');

  // Memory guard: wasm has a 4 GiB heap; WebGPU has per-buffer limits. CLO/DPO/ORPO score 4/2/2 sequences per row.
  const seqPerRow = objective === 'clo' ? 4 : objective === 'sft' || objective === 'pt' ? 1 : 2;
  const lim = backend.adapterInfo?.limits ?? {};
  const mem = checkMemory(model.config, { batchSize: cfg.batchSize * seqPerRow, seqLen: Math.min(cfg.maxSeqLen, model.config.maxSeqLen), lora: { r: cfg.lora.r, targets: cfg.lora.targets }, training: true }, {
    maxBufferSize: lim.maxBufferSize,
    maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
    totalBytes: backend.name === 'wasm' ? 4 * 2 ** 30 : undefined,
  });
  if (!mem.ok) throw new UsageError(`train: ${mem.message}`);

  const parsed = objective === 'pt' ? parseTextRows(readFileSync(dataPath, 'utf8'), dataPath) : parseDataFile(readFileSync(dataPath, 'utf8'), dataPath, { expect: KIND[objective], chatTemplate: model.tokenizer.chatTemplate ?? null });
  if (parsed.errors.length > 0) {
    const lines = formatErrors(parsed, 20);
    if (!a['skip-bad-rows'] || parsed.rows.length === 0) throw new Error(`${lines[0]}${parsed.errors.length > 1 ? ` (and ${parsed.errors.length - 1} more bad rows; --skip-bad-rows trains on the rest)` : ''}`);
    lines.forEach(log);
    log(`${dataPath}: skipped ${parsed.errors.length} of ${parsed.total} rows`);
  }
  const trainer = Trainer.create(model, parsed.rows, cfg);
  for (const s of trainer.skipped.slice(0, 5)) log(`${dataPath}: row ${s.line} skipped: ${s.message}`);
  if (trainer.skipped.length > 0) log(`${dataPath}: ${trainer.skipped.length} rows skipped, training on ${trainer.usableRows} (raise --max-seq-len to keep long rows)`);
  const t0 = performance.now();
  const memAfter: number[] = [];
  while (!trainer.done) {
    const m = await trainer.step();
    memAfter.push(tf.memory().numTensors);
    if (a.json) log(JSON.stringify(m));
    else log(`step ${m.step}/${cfg.steps} loss ${m.loss.toFixed(4)}${m['rewards/margins'] !== undefined ? ` margin ${m['rewards/margins'].toFixed(4)}` : ''} ${Math.round(m.tokens_per_s)} tok/s`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const outDir = resolve(a.out as string);
  mkdirSync(outDir, { recursive: true });
  const snap = await snapshotLora(trainer.lora);
  const files = await writeAdapterDir(outDir, snap, model);
  if (trainer.rows) files.push(...(await writeTrainedRows(outDir, trainer.rows, model, a.model as string)));
  const totalTokens = trainer.metrics.reduce((s, m) => s + m.tokens, 0);
  const runJson = {
    model: { name: model.name, source: model.source, config: model.config },
    data: { file: dataPath, rows: parsed.rows.length, rejected: parsed.errors.length, skipped: trainer.skipped },
    backend: backend.name,
    config: cfg,
    metrics: trainer.metrics,
    timings: { seconds, tokens: totalTokens, tokens_per_s: totalTokens / seconds, num_tensors_per_step: memAfter },
  };
  writeFileSync(resolve(outDir, 'run.json'), JSON.stringify(runJson, null, 1));
  const last = trainer.metrics[trainer.metrics.length - 1];
  const summary = { steps: trainer.stepIndex, final_loss: last.loss, tokens_per_s: totalTokens / seconds, out: outDir, files: [...files, 'run.json'] };
  trainer.dispose();
  console.log(JSON.stringify(summary));
  return 0;
}
