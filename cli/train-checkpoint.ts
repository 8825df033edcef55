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
  if (!existsSync(path)) throw new UsageError(`train: flag --resume: no ${CHECKPOINT_FILE} in ${dir}`);
  const file = await decodeCheckpoint(new Uint8Array(readFileSync(path)), path);
  // trained embedding rows travel as trainable/rows.* tensors; the Trainer resumes from them
  const rowsFrom = file.checkpoint.config.trainRowsFrom;
  if (rowsFrom !== undefined) file.checkpoint.rows = rowsFromTensors(file.trainable, rowsFrom, path);
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
  return { dir, file, info, argv: merged };
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

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/**
 * Periodic and signal-triggered checkpoints during the CLI step loop. SIGINT, SIGTERM and SIGHUP let the
 * current step finish, save, and exit 130, 143 or 129; a second signal exits at once (the files on disk are
 * whole either way: every write is atomic). When the run was started by cli/launch.mjs and that launcher is
 * gone (killed outright), the run saves and stops as on SIGHUP rather than training on unseen.
 */
export class CliCheckpointer {
  /** the signal that asked the run to stop, once one arrived */
  interrupted: NodeJS.Signals | null = null;
  private readonly launcher = Number(process.env.CLO_LAUNCHER_PID ?? 0);
  private readonly onSignal = (s: NodeJS.Signals) => {
    if (this.interrupted) {
      process.stderr.write(`${s} again: stopping now, the last saved checkpoint is kept\n`);
      process.exit(SIGNAL_EXIT[s] ?? 130);
    }
    this.interrupted = s;
  };

  constructor(
    readonly dir: string,
    readonly every: number,
    readonly info: RunInfo,
    readonly model: LoadedModel,
  ) {
    removeStalePartials(dir);
    for (const s of Object.keys(SIGNAL_EXIT)) process.on(s, this.onSignal);
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

  /** After each step: periodic checkpoint; on a signal, saves and returns the exit code (130, 143 or 129). */
  async afterStep(trainer: Trainer, log: (s: string) => void): Promise<number | null> {
    // let pending signal events run: a cpu-backend step only awaits microtasks
    await new Promise((r) => setImmediate(r));
    if (!this.interrupted && this.launcher > 0 && process.ppid !== this.launcher) this.interrupted = 'SIGHUP';
    if (this.interrupted) {
      await this.save(trainer);
      log(
        `interrupted (${this.interrupted}) after step ${trainer.stepIndex}: checkpoint saved in ${this.dir}; continue with: npm run lab -- train --resume ${this.dir}`,
      );
      return SIGNAL_EXIT[this.interrupted] ?? 130;
    }
    if (this.every > 0 && trainer.stepIndex % this.every === 0 && !trainer.done) await this.save(trainer);
    return null;
  }

  dispose(): void {
    for (const s of Object.keys(SIGNAL_EXIT)) process.off(s, this.onSignal);
  }
}
