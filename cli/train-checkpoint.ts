/**
 * CLI checkpoints and resume for `train` (docs/cli.md: `train … [--checkpoint-every N]`, `train --resume DIR [--steps N]`).
 *
 * `--out DIR` receives, every N steps and at the end, `checkpoint.safetensors` (src/lib/formats/checkpoint.ts:
 * LoRA weights, AdamW state, step, config, metrics, and here the run's flags and the data file's sha256;
 * a run with `--train-embeddings new` adds its trained rows as `trainable/rows.embed` (and `rows.head`),
 * whose AdamW moments sit under `adam/m|v/rows.*`)
 * plus the PEFT adapter, each written atomically (cli/safe-write.ts). SIGINT/SIGTERM/SIGHUP let the current
 * step finish, save a checkpoint and exit 130/143/129.
 *
 * `--resume DIR` also takes the folder the TRL bundle's train.py writes (PEFT adapter, optimizer.safetensors,
 * lab_state.json: src/lib/formats/trl-state.ts) when the bundle came from a lab checkpoint: its run record
 * names the flags and data, and the step and AdamW moments continue from where train.py stopped.
 *
 * `--resume PATH` (a folder as above, or a checkpoint.safetensors file, e.g. one downloaded from the page's
 * run list, with `--out DIR`) takes the config from the checkpoint. It refuses only what would change the
 * trajectory, naming it: a flag of the config given with another value than the checkpoint's, data whose
 * rows differ (data_fingerprint), another model (model_fingerprint, or model_name for a page checkpoint).
 * --steps may extend the run; --data, --model and --tokenizer say where the files are when the checkpoint
 * does not record them (a page checkpoint) or they moved.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UsageError, type Parsed, type Spec } from './args';
import { CHECKPOINT_FILE, checkpointFromBytes, checkpointToBytes, type RunInfo } from '../src/lib/formats/checkpoint';
import { EMBEDDED_NAME } from '../src/lib/formats/model-spec';
import { dataFingerprint } from '../src/lib/data/fingerprint';
import type { RowSource, TrainRow } from '../src/lib/data/rows';
import type { Trainer } from '../src/lib/train/trainer';
import type { TrainCheckpoint, TrainConfig } from '../src/lib/train/types';
import type { LoadedModel } from '../src/lib/model/model';
import {
  TRL_OPTIMIZER_FILE,
  TRL_STATE_FILE,
  checkpointFromTrlState,
  type TrlState,
} from '../src/lib/formats/trl-state';
import { writeAdapterDir } from './adapter-io';
import { atomicWriteFile, removeStalePartials } from './safe-write';

export const CHECKPOINT_FLAGS: Spec = {
  'checkpoint-every': {
    type: 'number',
    help: 'write a checkpoint (adapter + AdamW state) to --out every N steps (0 = only at the end)',
    default: 10,
  },
  resume: {
    type: 'string',
    help: 'continue the run checkpointed in DIR or a checkpoint.safetensors FILE (with --out DIR): its config is kept, --steps may extend it, --data/--model say where its files are',
  },
};

/** Flags a resume may give besides the trajectory's: where the data, model and output are, and how to run. */
const MAY_CHANGE = new Set(
  `steps backend json checkpoint-every grad-checkpointing resume help
   out data model tokenizer skip-bad-rows overwrite`.split(/\s+/),
);

/**
 * The config field behind each flag that sets the trajectory, as the flag would spell it. A resume that
 * gives one of these flags with another value than the checkpoint's is refused, naming the field.
 */
const TRAJECTORY: Record<string, [field: string, value: (c: TrainConfig) => unknown]> = {
  objective: ['objective', (c) => c.objective],
  'train-embeddings': ['trainRowsFrom', (c) => (c.trainRowsFrom === undefined ? 'none' : 'new')],
  'batch-size': ['batchSize', (c) => c.batchSize],
  'grad-accum': ['gradAccum', (c) => c.gradAccum],
  lr: ['lr', (c) => c.lr],
  'rows-lr': ['rowsLr', (c) => c.rowsLr ?? c.lr],
  'warmup-steps': ['warmupSteps', (c) => c.warmupSteps],
  'weight-decay': ['weightDecay', (c) => c.weightDecay],
  'clip-norm': ['clipNorm', (c) => c.clipNorm],
  'lora-rank': ['lora.r', (c) => c.lora.r],
  'lora-alpha': ['lora.alpha', (c) => c.lora.alpha],
  'lora-dropout': ['lora.dropout', (c) => c.lora.dropout],
  'lora-targets': ['lora.targets', (c) => (c.lora.targets.length ? c.lora.targets.join(',') : 'none')],
  beta: ['beta', (c) => c.beta],
  lambda: ['lambda', (c) => c.lambda],
  'max-seq-len': ['maxSeqLen', (c) => c.maxSeqLen],
  seed: ['seed', (c) => c.seed],
};

export type { RunInfo };

/** --model as a path resolved against `cwd` and through symlinks; the bundled 'stories260K' stays a name. */
export function resolveModelPath(spec: string, cwd: string): string {
  if (spec === EMBEDDED_NAME) return spec;
  const abs = resolve(cwd, spec);
  try {
    return realpathSync(abs);
  } catch {
    return abs;
  }
}

/** Bytes hashed whole per file; larger files are hashed by their size and three 4 MiB windows. */
const WHOLE_HASH_BYTES = 64 << 20;

function hashFile(h: ReturnType<typeof createHash>, path: string): void {
  const size = statSync(path).size;
  h.update(`${basename(path)}:${size}:`);
  const fd = openSync(path, 'r');
  try {
    const window = size <= WHOLE_HASH_BYTES ? size : 4 << 20;
    const starts = size <= WHOLE_HASH_BYTES ? [0] : [0, Math.floor(size / 2), size - window];
    const buf = Buffer.alloc(Math.min(window, 4 << 20));
    for (const start of starts)
      for (let off = 0; off < window;) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, window - off), start + off);
        if (n <= 0) break;
        h.update(buf.subarray(0, n));
        off += n;
      }
  } finally {
    closeSync(fd);
  }
}

/**
 * A content fingerprint of a model: its weights, config and tokenizer files (a folder), or the
 * checkpoint and tokenizer .bin (llama2.c). The bundled stories260K is its name.
 */
export function modelFingerprint(path: string, tokenizer?: string): string {
  if (path === EMBEDDED_NAME) return path;
  const h = createHash('sha256');
  if (statSync(path).isDirectory()) {
    const names = readdirSync(path)
      .filter((f) => /\.(safetensors|json|bin|model)$/.test(f) && statSync(join(path, f)).isFile())
      .sort();
    for (const f of names) hashFile(h, join(path, f));
  } else hashFile(h, path);
  if (tokenizer) hashFile(h, tokenizer);
  return h.digest('hex');
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** What the CLI records in a checkpoint's run record: its flags, the data (file, sha256, rows fingerprint), the model. */
export function runInfo(
  argv: string[],
  dataFile: string,
  rows: TrainRow[] | RowSource,
  model: LoadedModel,
  modelArg: string,
  tokenizer?: string,
): RunInfo {
  const modelPath = resolveModelPath(modelArg, process.cwd());
  return {
    source: 'cli',
    argv,
    cwd: process.cwd(),
    model_name: model.name,
    data_file: resolve(dataFile),
    data_sha256: sha256(readFileSync(dataFile)),
    data_fingerprint: dataFingerprint(rows),
    model_source: model.source,
    model_path: modelPath,
    model_fingerprint: modelFingerprint(modelPath, tokenizer),
  };
}

export interface ResumeState {
  /** the folder the run continues in (--resume DIR, or --out for a checkpoint file) */
  dir: string;
  checkpoint: TrainCheckpoint;
  info: RunInfo;
  /** the config the run continues with: the checkpoint's, with the new total steps and checkpoint interval */
  config: TrainConfig;
  /** the data file, model and tokenizer: the flags given, else the ones the checkpoint records */
  data: string;
  model: string;
  tokenizer?: string;
  /** DIR is a TRL train.py output folder: `checkpoint` is filled in by loadTrlResume once the model is loaded */
  trl?: TrlState;
}

const fail = (msg: string): never => {
  throw new UsageError(`train --resume: ${msg}`);
};

/** The checkpoint behind --resume PATH: a checkpoint.safetensors file, a folder holding one, or a TRL output folder. */
async function readResume(path: string): Promise<Pick<ResumeState, 'checkpoint' | 'info' | 'trl'> & { file: boolean }> {
  if (!existsSync(path)) fail(`${path} does not exist`);
  if (statSync(path).isFile()) {
    const f = await checkpointFromBytes(new Uint8Array(readFileSync(path)), path);
    return { checkpoint: f.checkpoint, info: f.run, file: true };
  }
  const ck = resolve(path, CHECKPOINT_FILE);
  if (existsSync(ck)) {
    const f = await checkpointFromBytes(new Uint8Array(readFileSync(ck)), ck);
    return { checkpoint: f.checkpoint, info: f.run, file: false };
  }
  const trlPath = resolve(path, TRL_STATE_FILE);
  if (!existsSync(trlPath)) fail(`no ${CHECKPOINT_FILE} (nor a TRL ${TRL_STATE_FILE}) in ${path}`);
  const trl = JSON.parse(readFileSync(trlPath, 'utf8')) as TrlState;
  if (!trl.run)
    fail(
      `${trlPath} has no run record (its TRL bundle was not exported from a lab run's checkpoint); start a run with --adapter ${path} instead`,
    );
  const empty = { t: trl.adam_t, m: {}, v: {} };
  const lora = { config: { ...trl.config.lora }, tensors: {} };
  const checkpoint = { step: trl.step, config: trl.config, lora, optimizer: empty, metrics: [] };
  return { checkpoint, info: trl.run as RunInfo, trl, file: false };
}

/** The --tokenizer a CLI run started with, resolved against where it started. */
function recordedTokenizer(info: RunInfo): string | undefined {
  const argv = info.argv ?? [];
  const i = argv.indexOf('--tokenizer');
  const eq = argv.find((t) => t.startsWith('--tokenizer='));
  const t = eq ? eq.slice('--tokenizer='.length) : i >= 0 ? argv[i + 1] : undefined;
  return t === undefined ? undefined : resolve(info.cwd ?? '.', t);
}

/**
 * `train --resume PATH [--steps N] …`: the config comes from the checkpoint; `given` holds only the flags
 * on the command line (parsed without defaults). Flags that set the trajectory are refused when they
 * differ from the checkpoint's config, naming the field; --steps may extend the run.
 */
export async function prepareResume(given: Parsed): Promise<ResumeState> {
  const from = resolve(String(given.resume));
  const { checkpoint, info, trl, file } = await readResume(from);
  const ck = checkpoint.config;
  for (const [flag, v] of Object.entries(given)) {
    if (MAY_CHANGE.has(flag)) continue;
    const t = TRAJECTORY[flag];
    if (!t) fail(`--${flag} cannot be given with --resume`);
    const was = t[1](ck);
    if (String(was) !== String(v))
      fail(
        `--${flag} ${v} would change the run: the checkpoint's config.${t[0]} is ${JSON.stringify(was)} (a resumed run keeps its config; --steps may extend it)`,
      );
  }
  const out = given.out === undefined ? undefined : resolve(String(given.out));
  if (!file && out !== undefined && out !== from)
    fail(
      `a resumed run continues in its own folder ${from}; --out ${String(given.out)} differs (copy the folder there and resume the copy to continue elsewhere)`,
    );
  const dir = file
    ? (out ?? fail(`${from} is a checkpoint file: give --out DIR, the folder the run continues in`))
    : from;
  const cwd = info.cwd ?? process.cwd();
  const data =
    given.data !== undefined
      ? String(given.data)
      : (info.data_file ??
        fail(
          `the checkpoint records no data file (${info.source ?? 'its run'} has its rows elsewhere): give --data FILE with the rows it trained on`,
        ));
  const model =
    given.model !== undefined
      ? String(given.model)
      : info.model_path !== undefined
        ? info.model_path === EMBEDDED_NAME
          ? EMBEDDED_NAME
          : resolve(cwd, info.model_path)
        : info.model_name === EMBEDDED_NAME
          ? EMBEDDED_NAME
          : fail(`the checkpoint records no model path (model ${info.model_name ?? 'unknown'}): give --model`);
  const tokenizer = given.tokenizer !== undefined ? String(given.tokenizer) : recordedTokenizer(info);
  const steps = given.steps === undefined ? ck.steps : Number(given.steps);
  if (!Number.isInteger(steps)) fail(`--steps ${steps} is not a whole number`);
  if (steps <= checkpoint.step)
    fail(`the checkpoint is at step ${checkpoint.step}; --steps ${steps} leaves nothing to do`);
  const config: TrainConfig = {
    ...ck,
    steps,
    ...(given['checkpoint-every'] !== undefined ? { checkpointEvery: Number(given['checkpoint-every']) } : {}),
    ...(given['grad-checkpointing'] !== undefined ? { checkpointing: !!given['grad-checkpointing'] } : {}),
  };
  return { dir, checkpoint, info, config, data, model, tokenizer, ...(trl ? { trl } : {}) };
}

/** A TRL train.py output folder: its adapter and optimizer state, converted to the lab's layout for `model`. */
export async function loadTrlResume(state: ResumeState, model: LoadedModel): Promise<void> {
  if (!state.trl) return;
  const read = (f: string) => {
    const p = resolve(state.dir, f);
    if (!existsSync(p)) throw new UsageError(`train: flag --resume: no ${f} in ${state.dir}`);
    return new Uint8Array(readFileSync(p));
  };
  const adapterConfig = JSON.parse(new TextDecoder().decode(read('adapter_config.json')));
  state.checkpoint = await checkpointFromTrlState(
    state.trl,
    read(TRL_OPTIMIZER_FILE),
    adapterConfig,
    read('adapter_model.safetensors'),
    model.config,
  );
}

/**
 * Refuses other data or another model than the checkpoint's, naming what differs; returns the
 * checkpoint to resume from with the resumed config (new total steps).
 */
export function checkResume(
  state: ResumeState,
  fp: string,
  model: LoadedModel,
  log: (s: string) => void,
): TrainCheckpoint {
  const { info, checkpoint: ck, config } = state;
  const differs =
    info.data_fingerprint !== undefined
      ? fp !== info.data_fingerprint
      : info.data_sha256 !== undefined && sha256(readFileSync(state.data)) !== info.data_sha256;
  if (differs)
    throw new Error(
      resolve(state.data) === info.data_file
        ? `train --resume: the data file ${state.data} changed since the checkpoint (data_fingerprint ${info.data_fingerprint ?? info.data_sha256} → ${fp}); resume needs the same data`
        : `train --resume: the rows of ${state.data} are not the ones the checkpoint trained on (data_fingerprint ${info.data_fingerprint ?? 'unrecorded'} → ${fp}); resume needs the same data`,
    );
  if (info.model_fingerprint !== undefined) {
    // the model is the one the run started with when its content is: the path may be spelled differently
    const path = resolveModelPath(state.model, process.cwd());
    if (modelFingerprint(path, state.tokenizer) !== info.model_fingerprint)
      throw new Error(
        `train --resume: the model ${path} is not the one the checkpoint trained (model_fingerprint differs: its files changed or another model was given); resume needs the same model`,
      );
  } else if (info.model_name !== undefined && info.model_name !== model.name)
    fail(`the checkpoint trained ${info.model_name} (model_name), but --model ${state.model} is ${model.name}`);
  if (config.steps !== ck.config.steps)
    log(`resume: total steps ${ck.config.steps} → ${config.steps} (the cosine schedule stretches from here on)`);
  log(`resume: from step ${ck.step} of ${config.steps} in ${state.dir}`);
  return { ...ck, config };
}

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/**
 * Checkpoints of a CLI run (the training loop asks for them every N steps, on a signal and at the end). SIGINT, SIGTERM and SIGHUP let the
 * current step finish, save, and exit 130, 143 or 129; a second signal exits at once (the files on disk are
 * whole either way: every write is atomic). When the run was started by cli/launch.mjs and that launcher is
 * gone (killed outright), the run saves and stops as on SIGHUP rather than training on unseen.
 */
export class CliCheckpointer {
  /** the signal that asked the run to stop, once one arrived */
  interrupted: NodeJS.Signals | null = null;
  private readonly stop = new AbortController();
  /** aborted by SIGINT, SIGTERM, SIGHUP or a vanished launcher: the training loop checkpoints and returns */
  readonly signal = this.stop.signal;
  private readonly launcher = Number(process.env.CLO_LAUNCHER_PID ?? 0);
  private readonly onSignal = (s: NodeJS.Signals) => {
    if (this.interrupted) {
      process.stderr.write(`${s} again: stopping now, the last saved checkpoint is kept\n`);
      process.exit(SIGNAL_EXIT[s] ?? 130);
    }
    this.interrupted = s;
    this.stop.abort();
  };

  constructor(
    readonly dir: string,
    readonly info: RunInfo,
    readonly model: LoadedModel,
  ) {
    removeStalePartials(dir);
    for (const s of Object.keys(SIGNAL_EXIT)) process.on(s, this.onSignal);
  }

  async save(trainer: Trainer): Promise<void> {
    const checkpoint = await trainer.checkpoint();
    atomicWriteFile(resolve(this.dir, CHECKPOINT_FILE), checkpointToBytes(checkpoint, this.info));
    await writeAdapterDir(this.dir, checkpoint.lora, this.model);
  }

  /** Between steps: lets pending signal events run (a cpu-backend step only awaits microtasks), checks the launcher. */
  async poll(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    if (!this.interrupted && this.launcher > 0 && process.ppid !== this.launcher) {
      this.interrupted = 'SIGHUP';
      this.stop.abort();
    }
  }

  /** the exit code of an interrupted run: 130, 143 or 129 */
  get exitCode(): number {
    return SIGNAL_EXIT[this.interrupted ?? 'SIGINT'] ?? 130;
  }

  dispose(): void {
    for (const s of Object.keys(SIGNAL_EXIT)) process.off(s, this.onSignal);
  }
}
