/**
 * A lab run's optimizer state in the TRL bundle's terms, both ways:
 *
 *   optimizer.safetensors   `exp_avg/<name>` and `exp_avg_sq/<name>`: the AdamW first and second moments of
 *                           every adapter tensor, <name> being the tensor's key in adapter_model.safetensors
 *                           (PEFT layout: q/k rows of llama2.c models reordered as the merged export's;
 *                           trained embedding rows under PEFT's trainable_tokens_delta names)
 *   lab_state.json          step, Adam t, the TrainConfig, the CLI's run record, the metrics so far
 *
 * The bundle carries them in state/ (the run's checkpoint at step k: train.py continues at k+1), and
 * train.py writes the same two files next to the adapter it saves, from which `train --resume` continues.
 */
import type { ModelConfig } from '../model/config';
import type { LoraSnapshot } from '../lora/types';
import type { StepMetrics, TrainCheckpoint, TrainConfig } from '../train/types';
import { fromPeft, toPeft } from './peft';
import { SafetensorsReader, writeSafetensors, type WriteTensor } from './safetensors';
import { PEFT_ROW_TENSORS } from './peft-rows';
import { ROW_KEYS, type RowsSnapshot } from '../train/trainable-rows';

export const TRL_STATE_FORMAT = 'clo-lab-trl-state/1';
export const TRL_OPTIMIZER_FILE = 'optimizer.safetensors';
export const TRL_STATE_FILE = 'lab_state.json';

export interface TrlState {
  format: string;
  step: number;
  adam_t: number;
  config: TrainConfig;
  /** the CLI's run record (flags, data file and its sha256, model source); null when unknown */
  run: Record<string, unknown> | null;
  metrics: Partial<StepMetrics>[];
}

const MOMENTS = [
  ['m', 'exp_avg'],
  ['v', 'exp_avg_sq'],
] as const;

/** The moments `which` of every LoRA pair, shaped as a LoraSnapshot (so the PEFT layout code applies). */
function momentSnapshot(ck: TrainCheckpoint, which: 'm' | 'v'): LoraSnapshot {
  const tensors: LoraSnapshot['tensors'] = {};
  for (const [k, t] of Object.entries(ck.lora.tensors)) {
    const A = ck.optimizer[which][`${k}.A`];
    const B = ck.optimizer[which][`${k}.B`];
    if (!A || !B) throw new Error(`checkpoint has no optimizer state for ${k}`);
    tensors[k] = { A, B, aShape: t.aShape, bShape: t.bShape };
  }
  return { config: ck.lora.config, tensors };
}

/** A checkpoint's AdamW moments and step as state/optimizer.safetensors and state/lab_state.json. */
export async function trlStateFiles(
  ck: TrainCheckpoint,
  run: Record<string, unknown> | null,
  model: ModelConfig,
): Promise<Map<string, Uint8Array | string>> {
  const out = new Map<string, WriteTensor>();
  for (const [which, prefix] of MOMENTS) {
    const r = await SafetensorsReader.open(toPeft(momentSnapshot(ck, which), model, 'base').weights, prefix);
    for (const name of r.names()) {
      const t = await r.readFloat(name);
      out.set(`${prefix}/${name}`, { shape: t.shape, data: t.data });
    }
    if (ck.rows)
      for (const part of ['embed', 'head'] as const) {
        const data = ck.optimizer[which][ROW_KEYS[part]];
        if (!ck.rows[part] || !data) continue;
        out.set(`${prefix}/${PEFT_ROW_TENSORS[part]}`, { shape: [data.length / ck.rows.dim, ck.rows.dim], data });
      }
  }
  const state: TrlState = {
    format: TRL_STATE_FORMAT,
    step: ck.step,
    adam_t: ck.optimizer.t,
    config: ck.config,
    run,
    metrics: ck.metrics.slice(0, ck.step),
  };
  return new Map<string, Uint8Array | string>([
    [TRL_OPTIMIZER_FILE, writeSafetensors(out, { format: 'pt', step: String(ck.step) })],
    [TRL_STATE_FILE, JSON.stringify(state, null, 1) + '\n'],
  ]);
}

/**
 * train.py's output folder (adapter, optimizer.safetensors, lab_state.json) → a TrainCheckpoint in the
 * lab's layout, with the run record to resume it by.
 */
export async function checkpointFromTrlState(
  state: TrlState,
  optimizer: Uint8Array,
  adapterConfig: Record<string, unknown>,
  adapterWeights: Uint8Array,
  model: ModelConfig,
): Promise<TrainCheckpoint> {
  if (state.format !== TRL_STATE_FORMAT)
    throw new Error(`${TRL_STATE_FILE}: format ${JSON.stringify(state.format)}, expected ${TRL_STATE_FORMAT}`);
  const lora = await fromPeft(adapterConfig, adapterWeights, model);
  const r = await SafetensorsReader.open(optimizer, TRL_OPTIMIZER_FILE);
  const opt: TrainCheckpoint['optimizer'] = { t: state.adam_t, m: {}, v: {} };
  for (const [which, prefix] of MOMENTS) {
    const part = new Map<string, WriteTensor>();
    for (const name of r.names())
      if (name.startsWith(prefix + '/') && !name.endsWith('.trainable_tokens_delta')) {
        const t = await r.readFloat(name);
        part.set(name.slice(prefix.length + 1), { shape: t.shape, data: t.data });
      }
    if (part.size === 0) throw new Error(`${TRL_OPTIMIZER_FILE}: no ${prefix}/ tensors`);
    const snap = await fromPeft(adapterConfig, writeSafetensors(part, { format: 'pt' }), model);
    for (const k of Object.keys(lora.tensors)) {
      const t = snap.tensors[k];
      if (!t) throw new Error(`${TRL_OPTIMIZER_FILE}: no ${prefix} moments for the adapter on ${k}`);
      opt[which][`${k}.A`] = t.A;
      opt[which][`${k}.B`] = t.B;
    }
  }
  // trained embedding rows: PEFT's trainable tokens (values and moments) → the lab's rows.embed / rows.head
  let rows: RowsSnapshot | undefined;
  const start = state.config.trainRowsFrom;
  if (start !== undefined) {
    const w = await SafetensorsReader.open(adapterWeights, 'adapter_model.safetensors');
    const embed = await w.readFloat(PEFT_ROW_TENSORS.embed).catch(() => null);
    if (!embed)
      throw new Error(`adapter_model.safetensors: the run trains embedding rows but has no ${PEFT_ROW_TENSORS.embed}`);
    const head = w.names().includes(PEFT_ROW_TENSORS.head) ? await w.readFloat(PEFT_ROW_TENSORS.head) : null;
    rows = { start, dim: embed.shape[1], embed: embed.data, ...(head ? { head: head.data } : {}) };
    for (const [which, prefix] of MOMENTS)
      for (const part of ['embed', 'head'] as const) {
        if (part === 'head' && !head) continue;
        const name = `${prefix}/${PEFT_ROW_TENSORS[part]}`;
        if (!r.names().includes(name)) throw new Error(`${TRL_OPTIMIZER_FILE}: no ${name}`);
        opt[which][ROW_KEYS[part]] = (await r.readFloat(name)).data;
      }
  }
  const metrics = state.metrics.map((m) => ({ tokens_per_s: 0, tokens: 0, ms: 0, ...m })) as StepMetrics[];
  return { step: state.step, config: state.config, lora, optimizer: opt, metrics, ...(rows ? { rows } : {}) };
}
