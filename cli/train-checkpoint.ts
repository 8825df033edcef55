/**
 * CLI checkpoints and resume for `train` (docs/cli.md: `train … [--checkpoint-every N]`, `train --resume DIR [--steps N]`).
 *
 * `--out DIR` receives, every N steps and at the end, `checkpoint.safetensors` (src/lib/formats/checkpoint.ts:
 * LoRA weights, AdamW state, step, config, metrics, and here the run's flags and the data file's sha256;
 * a run with `--train-embeddings new` adds its trained rows as `trainable/rows.embed` (and `rows.head`),
 * whose AdamW moments sit under `adam/m|v/rows.*`)
 * plus the PEFT adapter, each written atomically (cli/safe-write.ts). SIGINT/SIGTERM let the current
 * step finish, save a checkpoint and exit 130.
 *
 * `--resume DIR` also takes the folder the TRL bundle's train.py writes (PEFT adapter, optimizer.safetensors,
 * lab_state.json: src/lib/formats/trl-state.ts) when the bundle came from a lab checkpoint: its run record
 * names the flags and data, and the step and AdamW moments continue from where train.py stopped.
 *
 * Resume replays the checkpointed command line: the flags come from the checkpoint; only --steps
 * (the new total), --backend, --json and --checkpoint-every may change. Any other flag given with a
 * different value, a changed data file or a config that differs is refused, naming what changed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, UsageError, type Spec } from './args';
import {
  CHECKPOINT_FILE,
  decodeCheckpoint,
  encodeCheckpoint,
  type CheckpointFile,
} from '../src/lib/formats/checkpoint';
import type { Trainer } from '../src/lib/train/trainer';
import { rowsFromTensors, rowsToTensors } from '../src/lib/train/trainable-rows';
import type { TrainConfig } from '../src/lib/train/types';
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
    help: 'continue the run checkpointed in DIR (its flags are reused; --steps sets a new total)',
  },
};

const MAY_CHANGE = new Set(['steps', 'backend', 'json', 'checkpoint-every', 'resume', 'help']);

export interface RunInfo {
  argv: string[];
  cwd: string;
  data_file: string;
  data_sha256: string;
  model_source: string;
}

export interface ResumeState {
  dir: string;
  file: CheckpointFile;
  info: RunInfo;
  /** the command line to run: the checkpointed flags with the allowed overrides */
  argv: string[];
  /** DIR is a TRL train.py output folder: `file.checkpoint` is filled in by loadTrlResume once the model is loaded */
  trl?: TrlState;
}

/** argv → [flag name, raw tokens] in order, using the spec to know which flags take a value. */
function flagTokens(argv: string[], spec: Spec): [string, string[]][] {
  const out: [string, string[]][] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--'))
      throw new UsageError(`train: unexpected argument "${a}" (flags start with --; see --help)`);
    const name = a.slice(2).split('=')[0];
    const s = spec[name];
    if (!s) throw new UsageError(`train: unknown flag --${name} (see --help)`);
    if (s.type !== 'boolean' && !a.includes('=') && i + 1 < argv.length) out.push([name, [a, argv[++i]]]);
    else out.push([name, [a]]);
  }
  return out;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function runInfo(argv: string[], dataFile: string, model: LoadedModel): RunInfo {
  return {
    argv,
    cwd: process.cwd(),
    data_file: resolve(dataFile),
    data_sha256: sha256(readFileSync(dataFile)),
    model_source: model.source,
  };
}

/** null when argv has no --resume; else the checkpoint and the command line to run. */
export async function prepareResume(argv: string[], spec: Spec): Promise<ResumeState | null> {
  const given = flagTokens(argv, spec);
  const r = given.find(([n]) => n === 'resume');
  if (!r) return null;
  const dir = resolve(r[1][0].includes('=') ? r[1][0].slice('--resume='.length) : (r[1][1] ?? ''));
  const path = resolve(dir, CHECKPOINT_FILE);
  const trlPath = resolve(dir, TRL_STATE_FILE);
  let file: CheckpointFile;
  let trl: TrlState | undefined;
  if (existsSync(path)) file = await decodeCheckpoint(new Uint8Array(readFileSync(path)), path);
  else if (existsSync(trlPath)) {
    trl = JSON.parse(readFileSync(trlPath, 'utf8')) as TrlState;
    if (!trl.run)
      throw new UsageError(
        `train: flag --resume: ${trlPath} has no run record (its TRL bundle was not exported from a lab run's checkpoint); start a run with --adapter ${dir} instead`,
      );
    const empty = { t: trl.adam_t, m: {}, v: {} };
    const lora = { config: { ...trl.config.lora }, tensors: {} };
    file = {
      checkpoint: { step: trl.step, config: trl.config, lora, optimizer: empty, metrics: [] },
      run: trl.run,
      trainable: {},
    };
  } else throw new UsageError(`train: flag --resume: no ${CHECKPOINT_FILE} (nor a TRL ${TRL_STATE_FILE}) in ${dir}`);
  // trained embedding rows travel as trainable/rows.* tensors; the Trainer resumes from them
  const rowsFrom = file.checkpoint.config.trainRowsFrom;
  if (rowsFrom !== undefined && !trl) file.checkpoint.rows = rowsFromTensors(file.trainable, rowsFrom, path);
  const info = file.run as unknown as RunInfo;
  if (!Array.isArray(info.argv))
    throw new Error(`${path}: the checkpoint does not record the train flags it was run with`);
  const optional: Spec = Object.fromEntries(Object.entries(spec).map(([k, s]) => [k, { ...s, required: false }]));
  const before = parseArgs(info.argv, optional, 'train');
  const now = parseArgs(
    given.filter(([n]) => n !== 'resume').flatMap(([, t]) => t),
    optional,
    'train',
  );
  for (const [name] of given) {
    if (MAY_CHANGE.has(name) || name === 'out') continue;
    if (String(now[name]) !== String(before[name]))
      throw new UsageError(
        `train --resume: --${name} was ${JSON.stringify(before[name] ?? null)} in the checkpointed run, now ${JSON.stringify(now[name])}; a resumed run keeps its settings (only --steps, --backend, --json, --checkpoint-every may change)`,
      );
  }
  const overridden = new Set(given.map(([n]) => n).filter((n) => MAY_CHANGE.has(n) && n !== 'resume'));
  const kept = flagTokens(info.argv, spec).filter(
    ([n]) => !overridden.has(n) && n !== 'out' && n !== 'data' && n !== 'model',
  );
  const model = String(before.model);
  const modelArg = existsSync(resolve(info.cwd, model)) ? resolve(info.cwd, model) : model;
  const merged = [
    ...kept.flatMap(([, t]) => t),
    ...given.filter(([n]) => overridden.has(n)).flatMap(([, t]) => t),
    '--model',
    modelArg,
    '--data',
    info.data_file,
    '--out',
    dir,
  ];
  return { dir, file, info, argv: merged, ...(trl ? { trl } : {}) };
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
  state.file.checkpoint = await checkpointFromTrlState(
    state.trl,
    read(TRL_OPTIMIZER_FILE),
    adapterConfig,
    read('adapter_model.safetensors'),
    model.config,
  );
}

/** Refuses a changed data file or config; returns the checkpoint with the (possibly new) total steps. */
export function checkResume(
  state: ResumeState,
  cfg: TrainConfig,
  model: LoadedModel,
  log: (s: string) => void,
): CheckpointFile['checkpoint'] {
  const ck = state.file.checkpoint;
  if (!existsSync(state.info.data_file))
    throw new Error(`train --resume: the data file ${state.info.data_file} is gone`);
  const sha = sha256(readFileSync(state.info.data_file));
  if (sha !== state.info.data_sha256)
    throw new Error(
      `train --resume: the data file ${state.info.data_file} changed since the checkpoint (sha256 ${state.info.data_sha256.slice(0, 12)}… → ${sha.slice(0, 12)}…); resume needs the same data`,
    );
  if (model.source !== state.info.model_source)
    throw new Error(`train --resume: the model changed: ${state.info.model_source} → ${model.source}`);
  const changed: string[] = [];
  const flat = (o: unknown, p = ''): Record<string, string> =>
    o && typeof o === 'object' && !Array.isArray(o)
      ? Object.assign({}, ...Object.entries(o).map(([k, v]) => flat(v, p ? `${p}.${k}` : k)))
      : { [p]: JSON.stringify(o) };
  const a = flat(ck.config);
  const b = flat(cfg);
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)]))
    if (k !== 'steps' && k !== 'checkpointEvery' && a[k] !== b[k])
      changed.push(`${k} ${a[k] ?? 'unset'} → ${b[k] ?? 'unset'}`);
  if (changed.length) throw new Error(`train --resume: the config changed since the checkpoint: ${changed.join(', ')}`);
  if (cfg.steps <= ck.step)
    throw new UsageError(
      `train --resume: the checkpoint is at step ${ck.step}; --steps ${cfg.steps} leaves nothing to do`,
    );
  if (cfg.steps !== ck.config.steps)
    log(`resume: total steps ${ck.config.steps} → ${cfg.steps} (the cosine schedule stretches from here on)`);
  log(`resume: from step ${ck.step} of ${cfg.steps} in ${state.dir}`);
  return { ...ck, config: { ...ck.config, steps: cfg.steps, checkpointEvery: cfg.checkpointEvery } };
}

/** Periodic and signal-triggered checkpoints during the CLI step loop. */
export class CliCheckpointer {
  /** the signal that asked the run to stop, once one arrived */
  interrupted: NodeJS.Signals | null = null;
  private readonly onSignal = (s: NodeJS.Signals) => {
    if (this.interrupted) process.exit(130); // second signal: stop now
    this.interrupted = s;
  };

  constructor(
    readonly dir: string,
    readonly every: number,
    readonly info: RunInfo,
    readonly model: LoadedModel,
  ) {
    removeStalePartials(dir);
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  async save(trainer: Trainer): Promise<void> {
    const checkpoint = await trainer.checkpoint();
    atomicWriteFile(
      resolve(this.dir, CHECKPOINT_FILE),
      encodeCheckpoint({
        checkpoint,
        run: this.info as unknown as Record<string, unknown>,
        trainable: checkpoint.rows ? rowsToTensors(checkpoint.rows) : {},
      }),
    );
    await writeAdapterDir(this.dir, checkpoint.lora, this.model);
  }

  /** After each step: periodic checkpoint; on a signal, saves and returns the exit code 130. */
  async afterStep(trainer: Trainer, log: (s: string) => void): Promise<number | null> {
    // let pending signal events run: a cpu-backend step only awaits microtasks
    await new Promise((r) => setImmediate(r));
    if (this.interrupted) {
      await this.save(trainer);
      log(
        `interrupted (${this.interrupted}) after step ${trainer.stepIndex}: checkpoint saved in ${this.dir}; continue with: npm run lab -- train --resume ${this.dir}`,
      );
      return 130;
    }
    if (this.every > 0 && trainer.stepIndex % this.every === 0 && !trainer.done) await this.save(trainer);
    return null;
  }

  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
