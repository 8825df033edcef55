/**
 * The TRL bundle's files, assembled the same way for the CLI (`export --format trl`) and the page (the
 * run list's "TRL bundle" download), so the two cannot drift:
 *
 *   adapter/   the adapter to start from in PEFT layout (trained embedding rows as PEFT trainable tokens)
 *   base/      the base model as a merged Hugging Face folder (no adapter)
 *   state/     the checkpoint's AdamW moments and step (trl-state.ts), when it is past step 0
 *   the rest   train.py, trl_config.json, data/, README.md, ... (trl-bundle.ts)
 *
 * Framework-free: it takes the loaded model, the run's settings and rows, and either a checkpoint (the
 * bundle continues that run) or an adapter snapshot (the bundle starts from it at step 0).
 */
import type { LoadedModel } from '../model/model';
import type { LoraSnapshot } from '../lora/types';
import type { TrainCheckpoint, TrainConfig } from '../train/types';
import type { TrainRow } from '../data/rows';
import { exportMerged } from './merged';
import { peftFileMap, toPeft } from './peft';
import { addTrainableTokens } from './peft-rows';
import { trlStateFiles } from './trl-state';
import { buildTrlBundle } from './trl-bundle';

export interface TrlExportInput {
  model: LoadedModel;
  /** the run's settings (a checkpoint's own config wins) */
  config: TrainConfig;
  /** the run's training rows, parsed for its objective */
  rows: TrainRow[];
  /** a checkpoint to continue from: its adapter, trained rows, AdamW moments and step */
  checkpoint?: TrainCheckpoint | null;
  /** without a checkpoint: the adapter to start from at step 0 */
  lora?: LoraSnapshot | null;
  /** the run record written into state/lab_state.json (CLI: the run's run.json; page: a minimal one) */
  run?: Record<string, unknown> | null;
}

/** The bundle's files by path inside the bundle (bytes for safetensors, text for the rest). */
export async function trlExportFiles(input: TrlExportInput): Promise<Map<string, Uint8Array | string>> {
  const { model, rows, checkpoint } = input;
  const config = checkpoint?.config ?? input.config;
  const snap = checkpoint?.lora ?? input.lora;
  if (!snap) throw new Error('TRL export: needs a checkpoint or an adapter to start from');
  if (rows.length === 0) throw new Error(`TRL export: no usable rows for ${config.objective}`);
  const files = new Map<string, Uint8Array | string>();
  let peft = toPeft(snap, model.config, 'base');
  if (checkpoint?.rows) peft = await addTrainableTokens(peft, checkpoint.rows, model.config);
  for (const [n, b] of peftFileMap(peft)) files.set('adapter/' + n, b);
  for (const [n, b] of await exportMerged(model, null)) files.set('base/' + n, b);
  if (checkpoint && checkpoint.step > 0)
    for (const [n, b] of await trlStateFiles(checkpoint, input.run ?? null, model.config)) files.set('state/' + n, b);
  const bundle = buildTrlBundle({
    rows,
    config,
    baseModel: 'base',
    adapterDir: 'adapter',
    tokenizer: model.tokenizer,
    modelMaxSeqLen: model.config.maxSeqLen,
    startStep: checkpoint?.step ?? 0,
  });
  for (const [n, text] of bundle) files.set(n, text);
  return files;
}
