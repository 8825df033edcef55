/**
 * A TrainCheckpoint as one self-contained file (`checkpoint.safetensors`): the browser keeps its
 * checkpoints as structured-clone objects in IndexedDB (store/runs.ts); files (the CLI's `--out`
 * folder, downloads) use this encoding of the same TrainCheckpoint object.
 *
 * Tensors (F32):  `lora/<layer>.<target>/A|B`, `adam/m/<key>`, `adam/v/<key>` (optimizer keys are the
 * trainer's variable keys, e.g. `0.q_proj.A`), and `trainable/<name>` for any other trainable tensor
 * (e.g. new embedding rows): their Adam moments live under the same `adam/m|v/<name>` keys.
 * `__metadata__.clo_lab.checkpoint` holds the JSON rest: step, TrainConfig, LoRA config, Adam t,
 * metrics, and a free-form `run` object (the CLI stores its flags and the data fingerprint there).
 */
import type { TrainCheckpoint } from '../train/types';
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
    run: f.run,
  };
  return writeSafetensors(tensors, { format: 'pt', [META_KEY]: JSON.stringify(meta) });
}

export async function decodeCheckpoint(bytes: Uint8Array, fileName = CHECKPOINT_FILE): Promise<CheckpointFile> {
  const r = await SafetensorsReader.open(bytes, fileName);
  const raw = r.metadata?.[META_KEY];
  if (!raw) throw new Error(`${fileName}: not a CLO Lab checkpoint (no ${META_KEY} metadata)`);
  const meta = JSON.parse(raw);
  if (meta.format !== FORMAT)
    throw new Error(`${fileName}: checkpoint format ${JSON.stringify(meta.format)}, expected ${FORMAT}`);
  const lora: TrainCheckpoint['lora'] = { config: meta.lora_config, tensors: {} };
  const optimizer: TrainCheckpoint['optimizer'] = { t: meta.adam_t, m: {}, v: {} };
  const trainable: Record<string, ExtraTensor> = {};
  for (const name of r.names()) {
    const t = await r.readFloat(name);
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
    checkpoint: { step: meta.step, config: meta.config, lora, optimizer, metrics: meta.metrics },
    run: meta.run ?? {},
    trainable,
  };
}
