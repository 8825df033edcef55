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
 * Resume replays the checkpointed command line: the flags come from the checkpoint; only --steps
 * (the new total), --backend, --json and --checkpoint-every may change. Any other flag given with a
 * different value, a changed data file or a config that differs is refused, naming what changed.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
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
import { EMBEDDED_NAME } from '../src/lib/formats/model-spec';

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
const PATH_FLAGS = new Set(['model', 'tokenizer', 'data']);

export interface RunInfo {
  argv: string[];
  cwd: string;
  data_file: string;
  data_sha256: string;
  model_source: string;
  /** --model resolved against `cwd` and through symlinks ('stories260K' as is) */
  model_path?: string;
  /** modelFingerprint of that model when the run started */
  model_fingerprint?: string;
}

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

export function runInfo(
  argv: string[],
  dataFile: string,
  model: LoadedModel,
  modelArg: string,
  tokenizer?: string,
): RunInfo {
  const modelPath = resolveModelPath(modelArg, process.cwd());
  return {
    argv,
    cwd: process.cwd(),
    data_file: resolve(dataFile),
    data_sha256: sha256(readFileSync(dataFile)),
    model_source: model.source,
    model_path: modelPath,
    model_fingerprint: modelFingerprint(modelPath, tokenizer),
  };
}

/** null when argv has no --resume; else the checkpoint and the command line to run. */
export async function prepareResume(argv: string[], spec: Spec): Promise<ResumeState | null> {
  const given = flagTokens(argv, spec);
  const r = given.find(([n]) => n === 'resume');
  if (!r) return null;
  const dir = resolve(r[1][0].includes('=') ? r[1][0].slice('--resume='.length) : (r[1][1] ?? ''));
  const out = given.find(([n]) => n === 'out');
  const outPath = out && (out[1][0].includes('=') ? out[1][0].slice('--out='.length) : out[1][1]);
  if (outPath !== undefined && resolve(outPath) !== dir)
    throw new UsageError(
      `train --resume: a resumed run continues in its own folder ${dir}; --out ${outPath} differs (copy the folder there and resume the copy to continue elsewhere)`,
    );
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
  /** path flags are the same when they resolve to the same file (the run may have started elsewhere) */
  const same = (name: string): boolean =>
    PATH_FLAGS.has(name) && typeof now[name] === 'string' && typeof before[name] === 'string'
      ? resolveModelPath(String(now[name]), process.cwd()) === resolveModelPath(String(before[name]), info.cwd)
      : String(now[name]) === String(before[name]);
  for (const [name] of given) {
    if (MAY_CHANGE.has(name) || name === 'out') continue;
    if (!same(name))
      throw new UsageError(
        `train --resume: --${name} was ${JSON.stringify(before[name] ?? null)} in the checkpointed run, now ${JSON.stringify(now[name])}; a resumed run keeps its settings (only --steps, --backend, --json, --checkpoint-every may change)`,
      );
  }
  const overridden = new Set(given.map(([n]) => n).filter((n) => MAY_CHANGE.has(n) && n !== 'resume'));
  const kept = flagTokens(info.argv, spec).filter(
    ([n]) => !overridden.has(n) && n !== 'out' && n !== 'data' && n !== 'model',
  );
  const model = String(before.model);
  const modelArg = model === EMBEDDED_NAME ? model : resolve(info.cwd, model);
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

/** The --tokenizer of the checkpointed run, resolved against where it started. */
function tokenizerOf(state: ResumeState): string | undefined {
  const i = state.info.argv.indexOf('--tokenizer');
  const eq = state.info.argv.find((t) => t.startsWith('--tokenizer='));
  const t = eq ? eq.slice('--tokenizer='.length) : i >= 0 ? state.info.argv[i + 1] : undefined;
  return t === undefined ? undefined : resolve(state.info.cwd, t);
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
  if (state.info.model_fingerprint !== undefined) {
    // the model is the one the run started with when its content is: the path may be spelled differently
    const path = String(state.info.model_path);
    const now = existsSync(path) || path === EMBEDDED_NAME ? modelFingerprint(path, tokenizerOf(state)) : null;
    if (now !== state.info.model_fingerprint)
      throw new Error(
        now === null
          ? `train --resume: the model ${path} is gone`
          : `train --resume: the model ${path} changed since the checkpoint (its files differ); resume needs the same model`,
      );
  } else if (
    resolveModelPath(model.source, state.info.cwd) !== resolveModelPath(state.info.model_source, state.info.cwd)
  )
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
