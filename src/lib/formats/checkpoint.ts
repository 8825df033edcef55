/**
 * A TrainCheckpoint as one self-contained file (`checkpoint.safetensors`), the one checkpoint format of
 * the page and the CLI: the browser keeps its checkpoints as structured-clone TrainCheckpoint objects in
 * IndexedDB (store/runs.ts) and converts them losslessly to and from this file (checkpointToBytes,
 * checkpointFromBytes: a page run's checkpoint downloads and resumes with `lab train --resume`, a CLI
 * checkpoint imports into the page); the CLI's `--out` folder holds the same file.
 *
 * Tensors (F32):  `lora/<layer>.<target>/A|B`, `adam/m/<key>`, `adam/v/<key>` (optimizer keys are the
 * trainer's variable keys, e.g. `0.q_proj.A`), and `trainable/<name>` for any other trainable tensor
 * (e.g. new embedding rows): their Adam moments live under the same `adam/m|v/<name>` keys.
 * `__metadata__.clo_lab.checkpoint` holds the JSON rest: step, TrainConfig, LoRA config, Adam t,
 * metrics, the reference log-probs cached so far (DPO, CLO), a free-form `run` object (where the run came
 * from: the CLI's flags, the model, the data fingerprint: RunInfo below), and a
 * CRC-32 of every tensor's bytes: decoding type-checks the JSON fields and refuses a tensor whose bytes
 * changed (a flipped bit in the optimizer state would otherwise resume silently).
 */
import type { TrainCheckpoint } from '../train/types';
import { rowsFromTensors, rowsToTensors } from '../train/trainable-rows';
import { SafetensorsReader, writeSafetensors, type WriteTensor } from './safetensors';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
const META_KEY = 'clo_lab.checkpoint';
const FORMAT = 'clo-lab-checkpoint/1';

export interface ExtraTensor {
  shape: number[];
  data: Float32Array;
}

export interface CheckpointFile {
  checkpoint: TrainCheckpoint;
  /** caller's own record (flags, data fingerprint, model source...) */
  run: Record<string, unknown>;
  /** trainable tensors besides the LoRA pairs, by name */
  trainable: Record<string, ExtraTensor>;
}

let CRC_TABLE: Uint32Array | null = null;
/** CRC-32 (IEEE) of a tensor's bytes, as 8 hex digits. */
function crc32(data: Float32Array): string {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  const b = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return ((c ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0');
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Type-checks the JSON fields a resume relies on; throws naming the first bad one. */
function checkMeta(meta: Record<string, unknown>, fileName: string): void {
  const bad = (field: string, want: string) => {
    throw new Error(`${fileName}: field ${field} is ${JSON.stringify(meta[field] ?? null)}; expected ${want}`);
  };
  if (!isCount(meta.step)) bad('step', 'a whole number ≥ 0');
  if (!isCount(meta.adam_t)) bad('adam_t', 'a whole number ≥ 0');
  if (!isObj(meta.config) || !isCount(meta.config.steps) || (meta.config.steps as number) < 1)
    bad('config', 'the run settings with a whole number of steps');
  if ((meta.step as number) > ((meta.config as Record<string, unknown>).steps as number))
    bad('step', `at most config.steps (${(meta.config as Record<string, unknown>).steps})`);
  const lc = meta.lora_config;
  if (!isObj(lc) || !Number.isFinite(lc.r) || !Number.isFinite(lc.alpha)) bad('lora_config', 'the LoRA settings');
  if (!Array.isArray(meta.metrics) || meta.metrics.some((m) => !isObj(m) || !isCount(m.step)))
    bad('metrics', 'a list of per-step metrics');
  if (meta.run !== undefined && !isObj(meta.run)) bad('run', 'an object');
  if (meta.reference !== undefined && !isObj(meta.reference)) bad('reference', 'an object of log-probs');
  if (meta.crc32 !== undefined && !isObj(meta.crc32)) bad('crc32', 'an object of tensor checksums');
}

export function encodeCheckpoint(f: CheckpointFile): Uint8Array {
  const { checkpoint: c } = f;
  const tensors = new Map<string, WriteTensor>();
  const shapes = new Map<string, number[]>();
  for (const [k, t] of Object.entries(c.lora.tensors)) {
    tensors.set(`lora/${k}/A`, { shape: [...t.aShape], data: t.A });
    tensors.set(`lora/${k}/B`, { shape: [...t.bShape], data: t.B });
    shapes.set(`${k}.A`, [...t.aShape]);
    shapes.set(`${k}.B`, [...t.bShape]);
  }
  for (const [k, t] of Object.entries(f.trainable)) {
    tensors.set(`trainable/${k}`, { shape: t.shape, data: t.data });
    shapes.set(k, t.shape);
  }
  for (const which of ['m', 'v'] as const) {
    for (const [k, data] of Object.entries(c.optimizer[which])) {
      const shape = shapes.get(k) ?? [data.length];
      tensors.set(`adam/${which}/${k}`, { shape, data });
    }
  }
  const meta = {
    format: FORMAT,
    step: c.step,
    config: c.config,
    lora_config: c.lora.config,
    adam_t: c.optimizer.t,
    metrics: c.metrics,
    ...(c.reference ? { reference: c.reference } : {}),
    run: f.run,
    crc32: Object.fromEntries([...tensors].map(([k, t]) => [k, crc32(t.data as Float32Array)])),
  };
  return writeSafetensors(tensors, { format: 'pt', [META_KEY]: JSON.stringify(meta) });
}

export async function decodeCheckpoint(bytes: Uint8Array, fileName = CHECKPOINT_FILE): Promise<CheckpointFile> {
  const r = await SafetensorsReader.open(bytes, fileName);
  const raw = r.metadata?.[META_KEY];
  if (!raw) throw new Error(`${fileName}: not a CLO Lab checkpoint (no ${META_KEY} metadata)`);
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new Error(`${fileName}: the checkpoint metadata is not valid JSON (the file is damaged)`);
  }
  if (!isObj(meta)) throw new Error(`${fileName}: the checkpoint metadata is not an object (the file is damaged)`);
  if (meta.format !== FORMAT)
    throw new Error(`${fileName}: checkpoint format ${JSON.stringify(meta.format)}, expected ${FORMAT}`);
  checkMeta(meta, fileName);
  const sums = meta.crc32 as Record<string, string> | undefined;
  const lora: TrainCheckpoint['lora'] = { config: meta.lora_config as TrainCheckpoint['lora']['config'], tensors: {} };
  const optimizer: TrainCheckpoint['optimizer'] = { t: meta.adam_t as number, m: {}, v: {} };
  const trainable: Record<string, ExtraTensor> = {};
  for (const name of r.names()) {
    const t = await r.readFloat(name);
    if (sums && sums[name] !== crc32(t.data))
      throw new Error(
        `${fileName}: tensor "${name}" ${sums[name] === undefined ? 'has no checksum' : 'fails its checksum'} (the file was altered or damaged; resume from another copy or start again)`,
      );
    let m: RegExpExecArray | null;
    if ((m = /^lora\/(.+)\/([AB])$/.exec(name))) {
      const e = (lora.tensors[m[1]] ??= {
        A: new Float32Array(),
        B: new Float32Array(),
        aShape: [0, 0],
        bShape: [0, 0],
      });
      if (m[2] === 'A') [e.A, e.aShape] = [t.data, t.shape as [number, number]];
      else [e.B, e.bShape] = [t.data, t.shape as [number, number]];
    } else if ((m = /^adam\/([mv])\/(.+)$/.exec(name))) optimizer[m[1] as 'm' | 'v'][m[2]] = t.data;
    else if ((m = /^trainable\/(.+)$/.exec(name))) trainable[m[1]] = { shape: t.shape, data: t.data };
  }
  return {
    checkpoint: {
      step: meta.step as number,
      config: meta.config as TrainCheckpoint['config'],
      lora,
      optimizer,
      metrics: meta.metrics as TrainCheckpoint['metrics'],
      ...(meta.reference ? { reference: meta.reference as Record<string, number> } : {}),
    },
    run: (meta.run as Record<string, unknown>) ?? {},
    trainable,
  };
}

/**
 * Where a checkpoint came from, in its `run` record. Every field is optional: the page writes
 * `source: 'page'`, the model name and the data fingerprint; the CLI adds its flags, the data file and
 * its sha256, and the model's path and content fingerprint.
 */
export interface RunInfo {
  /** 'page' or 'cli' */
  source?: string;
  /** the run's name (page) */
  name?: string;
  /** the base model's name, e.g. 'stories260K' */
  model_name?: string;
  /** dataFingerprint of the training rows (src/lib/data/fingerprint.ts) */
  data_fingerprint?: string;
  /** the data set's name (page) */
  data_name?: string;
  /** CLI: the flags the run started with */
  argv?: string[];
  /** CLI: the folder it ran in */
  cwd?: string;
  /** CLI: the data file, absolute */
  data_file?: string;
  /** CLI: sha256 of the data file's bytes */
  data_sha256?: string;
  model_source?: string;
  /** CLI: --model resolved against `cwd` and through symlinks ('stories260K' as is) */
  model_path?: string;
  /** CLI: content fingerprint of that model when the run started */
  model_fingerprint?: string;
}

/** A TrainCheckpoint (trained rows and reference log-probs included) as checkpoint.safetensors bytes. */
export function checkpointToBytes(checkpoint: TrainCheckpoint, run: RunInfo): Uint8Array {
  return encodeCheckpoint({
    checkpoint: { ...checkpoint, rows: undefined },
    run: run as Record<string, unknown>,
    trainable: checkpoint.rows ? rowsToTensors(checkpoint.rows) : {},
  });
}

/** The inverse of checkpointToBytes: the TrainCheckpoint (its trained rows restored) and its run record. */
export async function checkpointFromBytes(
  bytes: Uint8Array,
  fileName = CHECKPOINT_FILE,
): Promise<{ checkpoint: TrainCheckpoint; run: RunInfo }> {
  const f = await decodeCheckpoint(bytes, fileName);
  const from = f.checkpoint.config.trainRowsFrom;
  if (from !== undefined) f.checkpoint.rows = rowsFromTensors(f.trainable, from, fileName);
  return { checkpoint: f.checkpoint, run: f.run as RunInfo };
}
