import { mkdirSync } from 'node:fs';
import type { BaseChoice } from '../../src/lib/model/packed-base';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UsageError, clampFlag, helpText, intFlag, parseArgs, rankTooHigh, type Parsed, type Spec } from '../args';
import { atomicWriteFile, checkOutDir, lockOutDir } from '../safe-write';
import { BACKEND_FLAG, HELP_FLAG, MODEL_FLAGS } from '../common-flags';
import { pickNodeBackend } from '../auto-backend';
import { enableNodeWebgpu, initNodeBackend, loadModelArg } from '../node-env';
import { formatErrors } from '../../src/lib/data';
import { rowSource } from '../../src/lib/data/rows';
import { NonFiniteError, Trainer } from '../../src/lib/train/trainer';
import { runTraining } from '../../src/lib/train/run-training';
import { EAGER_MAX_CHARS } from '../../src/lib/train/train-items';
import { openDataFile, type OpenedData } from '../data-source';
import { checkInputFile, readInputText, STREAMED_FILE_MAX_BYTES, WHOLE_FILE_MAX_BYTES } from '../input-files';
import { defaultTrainConfig, TRAIN_DEFAULTS } from '../../src/lib/train/defaults';
import { OBJECTIVES, getObjective } from '../../src/lib/objectives/index';
import type { TrainConfig, TrainObjectiveName } from '../../src/lib/train/types';
import type { LoadedModel } from '../../src/lib/model/model';
import { addedRowsStart, parseTextRows, writeTrainedRows } from '../vocab-io';
import { LINEAR_NAMES, type LinearName } from '../../src/lib/model/weights';
import { trainMemoryAdvice } from '../memory-guard';
import {
  CHECKPOINT_FLAGS,
  CliCheckpointer,
  checkResume,
  loadTrlResume,
  prepareResume,
  runInfo,
  type RunInfo,
} from '../train-checkpoint';

/** what `train --out DIR` writes (the adapter and checkpoint atomically at every save, run.json at the end) */
const RUN_FILES = ['adapter_config.json', 'adapter_model.safetensors', 'checkpoint.safetensors', 'run.json'] as const;

const D = TRAIN_DEFAULTS;
/** The help of an objective hyperparameter flag, from what each objective declares about it. */
const paramHelp = (k: 'beta' | 'lambda') =>
  Object.values(OBJECTIVES)
    .filter((o) => o.params[k])
    .map((o) => `${o.params[k]!.help} (default ${o.params[k]!.default})`)
    .join('; ');

const SPEC: Spec = {
  ...MODEL_FLAGS,
  objective: {
    type: 'string',
    help: 'training objective (pt: continued pretraining on {"text"} rows or plain text lines)',
    required: true,
    choices: Object.keys(OBJECTIVES),
  },
  'train-embeddings': {
    type: 'string',
    help: 'new: also train the embedding rows added by `vocab` (and untied head rows); none: frozen',
    choices: ['new', 'none'],
    default: 'none',
  },
  data: { type: 'string', help: 'JSONL / JSON / CSV training rows (docs/cli.md shapes)', required: true },
  steps: { type: 'number', help: 'optimizer steps', default: D.steps, int: true, min: 1, max: 10_000_000 },
  'batch-size': {
    type: 'number',
    help: `rows per micro-batch (CLO: each row = ${OBJECTIVES.clo.layout.length} sequences)`,
    default: D.batchSize,
    int: true,
    min: 1,
    max: 100_000,
  },
  'grad-accum': {
    type: 'number',
    help: 'micro-batches per step',
    default: D.gradAccum,
    int: true,
    min: 1,
    max: 100_000,
  },
  lr: { type: 'number', help: 'peak learning rate', default: D.lr, gt: 0, max: 1 },
  'rows-lr': {
    type: 'number',
    help: 'peak learning rate of the new embedding rows (--train-embeddings new; same schedule); default --lr',
    gt: 0,
    max: 1,
  },
  'warmup-steps': {
    type: 'number',
    help: 'linear warmup steps, then cosine decay (at most --steps)',
    default: D.warmupSteps,
    int: true,
    min: 0,
  },
  'weight-decay': { type: 'number', help: 'AdamW decoupled weight decay', default: D.weightDecay, min: 0, max: 1 },
  'clip-norm': { type: 'number', help: 'global gradient-norm clip', default: D.clipNorm, gt: 0, max: 1e6 },
  'lora-rank': { type: 'number', help: 'LoRA rank r', default: D.lora.r, int: true, min: 1, max: 4096 },
  'lora-alpha': { type: 'number', help: 'LoRA alpha (scale = alpha / r)', default: D.lora.alpha, gt: 0, max: 1e6 },
  'lora-dropout': { type: 'number', help: 'dropout on the adapter input', default: D.lora.dropout, min: 0, lt: 1 },
  'lora-targets': {
    type: 'string',
    help: 'comma list of PEFT names (q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj)',
    default: D.lora.targets.join(','),
  },
  beta: { type: 'number', help: paramHelp('beta'), gt: 0, max: 1000 },
  lambda: { type: 'number', help: paramHelp('lambda'), gt: 0, max: 1000 },
  'max-seq-len': {
    type: 'number',
    help: "tokens per sequence (prompts are left-truncated; lowered to the model's context, said on stderr)",
    default: D.maxSeqLen,
    int: true,
    min: 2,
    max: 1_048_576,
  },
  seed: {
    type: 'number',
    help: 'seed for LoRA init, data order and dropout',
    default: D.seed,
    int: true,
    min: 0,
    max: 4294967295,
  },
  base: {
    type: 'string',
    help: 'frozen base precision: f32, f16, int8 (one scale per row; LoRA, gradients and AdamW stay f32), or auto = int8 above 100M parameters',
    choices: ['auto', 'f32', 'f16', 'int8'],
    default: 'auto',
  },
  'grad-checkpointing': {
    type: 'boolean',
    help: 'recompute each block in the backward pass instead of keeping its activations (less memory, about one more forward pass of time)',
  },
  'skip-bad-rows': {
    type: 'boolean',
    help: 'train on the valid rows when some rows are malformed (they are listed on stderr)',
  },
  backend: {
    ...BACKEND_FLAG,
    help: `${BACKEND_FLAG.help}; auto = time warm steps of this model and shape on webgpu (where an adapter answers) and wasm, and train on the faster`,
    choices: [...(BACKEND_FLAG.choices ?? []), 'auto'],
  },
  out: { type: 'string', help: 'output folder (adapter + run.json)', required: true },
  overwrite: { type: 'boolean', help: 'replace an earlier run (adapter + run.json) in --out' },
  json: { type: 'boolean', help: 'per-step JSON lines on stderr, summary JSON on stdout' },
  ...CHECKPOINT_FLAGS,
  help: HELP_FLAG,
};

/** `pt` rows (a {"text"} file or plain text lines), parsed whole. */
function ptRows(dataPath: string): OpenedData {
  const p = parseTextRows(readInputText('train', 'data', dataPath), dataPath);
  return { ...p, shape: 'sft', format: 'jsonl', position: 'line', rows: rowSource(p.rows), close: () => {} };
}

/** The TrainConfig of a new run from its flags (the model-dependent parts are set once it is loaded). */
function configFromFlags(a: Parsed): TrainConfig {
  const targets =
    String(a['lora-targets']) === 'none'
      ? []
      : String(a['lora-targets'])
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  for (const t of targets)
    if (!LINEAR_NAMES.includes(t as LinearName))
      throw new UsageError(`train: flag --lora-targets: unknown target "${t}" (expected ${LINEAR_NAMES.join(',')})`);
  if ((a['warmup-steps'] as number) > (a.steps as number))
    throw new UsageError(
      `train: flag --warmup-steps (${a['warmup-steps']}) is longer than the run (--steps ${a.steps})`,
    );
  return defaultTrainConfig(a.objective as TrainObjectiveName, {
    steps: intFlag(a, 'steps', 'train'),
    batchSize: intFlag(a, 'batch-size', 'train'),
    gradAccum: intFlag(a, 'grad-accum', 'train'),
    lr: a.lr as number,
    warmupSteps: intFlag(a, 'warmup-steps', 'train', 0),
    weightDecay: a['weight-decay'] as number,
    clipNorm: a['clip-norm'] as number,
    maxSeqLen: intFlag(a, 'max-seq-len', 'train', 2),
    seed: a.seed as number,
    ...(a.beta !== undefined ? { beta: a.beta as number } : {}),
    ...(a.lambda !== undefined ? { lambda: a.lambda as number } : {}),
    checkpointEvery: intFlag(a, 'checkpoint-every', 'train', 0),
    lora: {
      r: intFlag(a, 'lora-rank', 'train'),
      alpha: a['lora-alpha'] as number,
      dropout: a['lora-dropout'] as number,
      targets: targets as LinearName[],
      init: 'gaussian',
    },
    ...(a['grad-checkpointing'] ? { checkpointing: true } : {}),
  });
}

/** The parts of a new run's config that depend on the loaded model: context, trained rows, rank. */
function fitToModel(cfg: TrainConfig, a: Parsed, model: LoadedModel): void {
  // longer than the model's context: lowered, said on stderr, and recorded in run.json as the value used
  cfg.maxSeqLen = clampFlag(
    'train',
    'max-seq-len',
    cfg.maxSeqLen,
    2,
    model.config.maxSeqLen,
    `${model.name} has a ${model.config.maxSeqLen}-token context`,
  );
  const trainRowsFrom = a['train-embeddings'] === 'new' ? addedRowsStart(model, a.model as string) : undefined;
  if (trainRowsFrom !== undefined) cfg.trainRowsFrom = trainRowsFrom;
  if (a['rows-lr'] !== undefined) {
    if (trainRowsFrom === undefined) throw new UsageError('train: --rows-lr needs --train-embeddings new');
    cfg.rowsLr = a['rows-lr'] as number;
  }
  const targets = cfg.lora.targets;
  if (targets.length === 0 && trainRowsFrom === undefined)
    throw new UsageError('train: nothing to train (--lora-targets none needs --train-embeddings new)');
  const rankMsg = targets.length > 0 ? rankTooHigh(cfg.lora.r, model.config.dim, model.name) : null;
  if (rankMsg) throw new UsageError(`train: flag --lora-rank: ${rankMsg}`);
}

/** The spec with no defaults and nothing required: parsing gives only the flags on the command line. */
const givenOnly = (spec: Spec): Spec =>
  Object.fromEntries(Object.entries(spec).map(([k, s]) => [k, { ...s, required: false, default: undefined }]));

export async function run(argvGiven: string[]): Promise<number> {
  if (argvGiven.includes('--help'))
    return (
      console.log(
        helpText('train', 'Trains a LoRA adapter; writes the adapter (PEFT layout) and run.json to --out.', SPEC),
      ),
      0
    );
  // a resumed run takes its config from the checkpoint: only the flags given are parsed, and compared there
  const resuming = argvGiven.some((t) => t === '--resume' || t.startsWith('--resume='));
  const a = parseArgs(argvGiven, resuming ? givenOnly(SPEC) : SPEC, 'train');
  const resume = resuming ? await prepareResume(a) : null;
  const cfg = resume ? resume.config : configFromFlags(a);
  const objective = cfg.objective;
  const dataPath = resume ? resume.data : (a.data as string);
  const modelArg = resume ? resume.model : (a.model as string);
  const tokenizerArg = resume ? resume.tokenizer : (a.tokenizer as string | undefined);
  checkInputFile('train', 'data', dataPath, objective === 'pt' ? WHOLE_FILE_MAX_BYTES : STREAMED_FILE_MAX_BYTES);
  // the output folder is checked before any work (not after training): writable, not an input, no earlier run unless --overwrite
  const outDir = checkOutDir(
    'train',
    'out',
    resume ? resume.dir : (a.out as string | undefined),
    [
      { flag: 'data', path: dataPath },
      { flag: 'model', path: modelArg },
      { flag: 'tokenizer', path: tokenizerArg },
    ],
    { overwrite: !!a.overwrite || resume !== null, ownFiles: [...RUN_FILES] },
  );
  const unlock = lockOutDir(outDir, 'train');
  const log = (s: string) => process.stderr.write(s + '\n');
  const auto = a.backend === 'auto';
  let backend = await initNodeBackend(auto ? undefined : (a.backend as string | undefined), log);
  const model = await loadModelArg(modelArg, tokenizerArg, a.base as BaseChoice);
  if (!resume) fitToModel(cfg, a, model);
  const memAdvice = trainMemoryAdvice(model, cfg, backend);
  if (memAdvice) throw new UsageError(`train: ${memAdvice}`);

  // JSONL is indexed in one streamed pass and its rows read back as batches need them (cli/data-source.ts)
  const parsed =
    objective === 'pt'
      ? ptRows(dataPath)
      : openDataFile(
          dataPath,
          { expect: getObjective(objective).accepts[0], chatTemplate: model.tokenizer.chatTemplate ?? null },
          log,
        );
  if (parsed.errors.length > 0) {
    const lines = formatErrors(parsed, 20);
    if (!a['skip-bad-rows'] || parsed.rows.length === 0) {
      parsed.close();
      throw new Error(
        `${lines[0]}${parsed.errors.length > 1 ? ` (and ${parsed.errors.length - 1} more bad rows; --skip-bad-rows trains on the rest)` : ''}`,
      );
    }
    lines.forEach(log);
    log(`${dataPath}: skipped ${parsed.errors.length} of ${parsed.total} rows`);
  }
  let trainer: Trainer;
  let info: RunInfo;
  try {
    if (auto) {
      log('auto: timing warm steps of this model and shape on each backend…');
      const report = await pickNodeBackend({ model, rows: parsed.rows, config: cfg, webgpu: await enableNodeWebgpu() });
      log(`auto measured: ${report.line}`);
      backend = report.backend;
    }
    if (resume) await loadTrlResume(resume, model);
    info = runInfo(resume?.info.argv ?? argvGiven, dataPath, parsed.rows, model, modelArg, tokenizerArg);
    trainer = Trainer.create(
      model,
      parsed.rows,
      cfg,
      resume ? checkResume(resume, info.data_fingerprint!, model, log) : undefined,
    );
  } catch (e) {
    parsed.close();
    throw e;
  }
  mkdirSync(outDir, { recursive: true });
  const ckpt = new CliCheckpointer(outDir, info, model);
  let skipsSaid = 0;
  /** rows skipped by the trainer (too long, ...): up front, or as batches meet them with lazy tokenization */
  const saySkips = () => {
    for (const s of trainer.skipped.slice(skipsSaid, 5)) log(`${dataPath}: row ${s.line} skipped: ${s.message}`);
    skipsSaid = Math.max(skipsSaid, Math.min(trainer.skipped.length, 5));
  };
  saySkips();
  if (trainer.lazyTokenization)
    log(
      `${dataPath}: ${parsed.rows.length} rows, tokenized as batches need them (more than ${EAGER_MAX_CHARS} characters); rows too long for --max-seq-len are skipped when met and listed in run.json`,
    );
  else if (trainer.skipped.length > 0)
    log(
      `${dataPath}: ${trainer.skipped.length} rows skipped, training on ${trainer.usableRows} (raise --max-seq-len to keep long rows)`,
    );
  const finish = () => {
    ckpt.dispose();
    trainer.dispose();
    parsed.close();
  };
  const t0 = performance.now();
  const memAfter: number[] = [];
  let outcome;
  try {
    outcome = await runTraining(trainer, {
      signal: ckpt.signal,
      checkpointEvery: cfg.checkpointEvery,
      onStep: (m) => {
        saySkips();
        memAfter.push(tf.memory().numTensors);
        if (a.json) log(JSON.stringify(m));
        else
          log(
            `step ${m.step}/${cfg.steps} loss ${m.loss.toFixed(4)}${m['rewards/margins'] !== undefined ? ` margin ${m['rewards/margins'].toFixed(4)}` : ''} ${Math.round(m.tokens_per_s)} tok/s`,
          );
      },
      onCheckpoint: (_reason, t) => ckpt.save(t),
      between: () => ckpt.poll(),
    });
  } catch (e) {
    // a non-finite loss or gradient stops before that step's update: keep the last finite state
    if (e instanceof NonFiniteError && trainer.stepIndex > 0) {
      await ckpt.save(trainer);
      log(`the last finite state (step ${trainer.stepIndex}) is saved in ${outDir}`);
    }
    finish();
    throw e;
  }
  if (outcome.status === 'aborted') {
    log(
      `interrupted (${ckpt.interrupted}) after step ${trainer.stepIndex}: checkpoint saved in ${outDir}; continue with: npm run lab -- train --resume ${outDir}`,
    );
    finish();
    return ckpt.exitCode;
  }
  const seconds = (performance.now() - t0) / 1000;
  ckpt.dispose();
  parsed.close();
  const rowFiles = trainer.rows ? await writeTrainedRows(outDir, trainer.rows, model, modelArg) : [];
  const totalTokens = trainer.metrics.reduce((s, m) => s + m.tokens, 0);
  const runJson = {
    model: { name: model.name, source: model.source, config: model.config },
    data: { file: dataPath, rows: parsed.rows.length, rejected: parsed.errors.length, skipped: trainer.skipped },
    backend: backend.name,
    config: cfg,
    metrics: trainer.metrics,
    timings: { seconds, tokens: totalTokens, tokens_per_s: totalTokens / seconds, num_tensors_per_step: memAfter },
  };
  atomicWriteFile(resolve(outDir, 'run.json'), JSON.stringify(runJson, null, 1));
  const files = [...RUN_FILES, ...rowFiles];
  const last = trainer.metrics[trainer.metrics.length - 1];
  const summary = {
    steps: trainer.stepIndex,
    final_loss: last.loss,
    tokens_per_s: totalTokens / seconds,
    out: outDir,
    files,
  };
  trainer.dispose();
  unlock();
  console.log(JSON.stringify(summary));
  return 0;
}
