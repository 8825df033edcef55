/**
 * `npm run lab -- export --model M --adapter A --format peft|merged|trl --out DIR [--data FILE] [--json]`
 * peft:   the adapter in PEFT layout (re-written from any PEFT folder the lab can read)
 * merged: W + (alpha/r)·B·A as a Hugging Face model folder (Llama layout for llama2.c models)
 * trl:    a runnable TRL bundle (trl-bundle.ts): train.py, trl_config.json, data (the lab's step order and
 *         token ids), requirements.txt, README, base/ (merged HF export of the base) and adapter/ (the
 *         adapter to start from: --adapter, else the lab's own step-0 initialisation for the run's seed);
 *         when --adapter is a `train --out` folder with a checkpoint.safetensors, the bundle continues that
 *         run: its settings and data come from the checkpoint, and state/ holds its AdamW moments and step
 */
import { existsSync, readFileSync } from 'node:fs';
import { atomicWriteFiles, checkOutDir } from '../safe-write';
import { readInputText } from '../input-files';
import { resolve } from 'node:path';
import { helpText, parseArgs, UsageError, type Spec } from '../args';
import { BACKEND_FLAG, HELP_FLAG, MODEL_FLAGS } from '../common-flags';
import { initNodeBackend, loadAdapterArg, loadModelArg } from '../node-env';
import { snapshotLora, disposeLora, createLora } from '../../src/lib/lora/lora';
import { exportMerged } from '../../src/lib/formats/merged';
import { peftFileMap, toPeft } from '../../src/lib/formats/peft';
import { trlExportFiles } from '../../src/lib/formats/trl-export';
import { rowsFromTensors } from '../../src/lib/train/trainable-rows';
import { parseTextRows } from '../vocab-io';
import { CHECKPOINT_FILE, decodeCheckpoint, type CheckpointFile } from '../../src/lib/formats/checkpoint';
import { parseDataFile, formatErrors } from '../../src/lib/data';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import { getObjective } from '../../src/lib/objectives/index';
import type { ObjectiveName, TrainConfig } from '../../src/lib/train/types';

const SPEC: Spec = {
  ...MODEL_FLAGS,
  adapter: {
    type: 'string',
    help: 'PEFT adapter folder (e.g. the --out of train); merged without it = plain conversion',
  },
  format: { type: 'string', help: 'what to write', choices: ['peft', 'merged', 'trl'], required: true },
  out: { type: 'string', help: 'output folder', required: true },
  data: { type: 'string', help: "trl: training data file (default: the one named in the adapter folder's run.json)" },
  objective: {
    type: 'string',
    help: 'trl: objective when there is no adapter folder with a run.json (then the default settings)',
    choices: ['sft', 'dpo', 'orpo', 'clo'],
  },
  dtype: { type: 'string', help: 'merged: stored float type', choices: ['F32', 'F16', 'BF16'], default: 'F32' },
  backend: { ...BACKEND_FLAG, default: 'cpu' },
  overwrite: { type: 'boolean', help: 'replace the files of an earlier export in --out' },
  json: { type: 'boolean', help: 'print {files: [...]}' },
  help: HELP_FLAG,
};

/** Files an export may write into --out: any of them already there means an earlier export (or a model). */
const EXPORT_FILES = [
  'config.json',
  'generation_config.json',
  'model.safetensors',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'adapter_config.json',
  'adapter_model.safetensors',
  'adapter',
  'README.md',
  'trl_config.json',
  'sft.jsonl',
  'preference.jsonl',
  'clo_preference.jsonl',
  'clo_target_sft.jsonl',
  'run.json',
  'state',
  'accelerate_config.yaml',
  'accelerate_config_cpu.yaml',
];

function readRunJson(adapterDir: string): { config?: TrainConfig; data?: { file?: string } } | null {
  const p = resolve(adapterDir, 'run.json');
  if (!existsSync(p)) return null;
  try {
    return JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new Error(`${p}: invalid JSON (${(e as Error).message})`, { cause: e });
  }
}

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv, SPEC, 'export');
  if (a.help)
    return (
      console.log(
        helpText('export', 'Writes a PEFT adapter, a merged Hugging Face model, or a TRL-ready bundle.', SPEC),
      ),
      0
    );
  const format = a.format as 'peft' | 'merged' | 'trl';
  const adapterDir = a.adapter as string | undefined;
  if (!adapterDir && format === 'peft') throw new UsageError(`export: --format ${format} needs --adapter DIR`);
  if (!adapterDir && format === 'trl' && !a.objective)
    throw new UsageError('export: --format trl needs --adapter DIR or --objective sft|dpo|orpo|clo');
  if (adapterDir && !existsSync(adapterDir))
    throw new UsageError(`export: flag --adapter: no such folder: ${adapterDir}`);
  // --out is checked before any work: never the model, adapter or data, never over an earlier export without --overwrite
  const outDir = checkOutDir(
    'export',
    'out',
    a.out as string | undefined,
    [
      { flag: 'model', path: a.model as string },
      { flag: 'tokenizer', path: a.tokenizer as string | undefined },
      { flag: 'adapter', path: adapterDir },
      { flag: 'data', path: a.data as string | undefined },
    ],
    { overwrite: !!a.overwrite, ownFiles: EXPORT_FILES },
  );
  const log = (s: string) => process.stderr.write(s + '\n');
  await initNodeBackend(a.backend as string | undefined, log);
  const model = await loadModelArg(a.model as string, a.tokenizer as string | undefined);
  const lora = adapterDir ? await loadAdapterArg(adapterDir, model) : null;
  // everything is gathered first and written at the end under temporary names, then renamed into place
  const pending = new Map<string, Uint8Array | string>();
  const write = (name: string, data: Uint8Array | string) => void pending.set(name, data);

  try {
    if (format === 'peft') {
      const snap = await snapshotLora(lora!);
      for (const [n, b] of peftFileMap(toPeft(snap, model.config, model.source))) write(n, b);
    }
    if (format === 'merged') {
      const files = await exportMerged(model, lora, { dtype: a.dtype as 'F32' | 'F16' | 'BF16' });
      for (const [n, b] of files) write(n, b);
    }
    if (format === 'trl') {
      const runJson = adapterDir ? readRunJson(adapterDir) : null;
      // a CLI run folder's checkpoint: the bundle continues that run from its step
      const ckPath = adapterDir ? resolve(adapterDir, CHECKPOINT_FILE) : null;
      let ckFile: CheckpointFile | null = null;
      if (ckPath && existsSync(ckPath)) ckFile = await decodeCheckpoint(new Uint8Array(readFileSync(ckPath)), ckPath);
      const rowsFrom = ckFile?.checkpoint.config.trainRowsFrom;
      // trained embedding rows (`train --train-embeddings new`) travel as PEFT trainable tokens
      if (ckFile && rowsFrom !== undefined)
        ckFile.checkpoint.rows = rowsFromTensors(ckFile.trainable, rowsFrom, ckPath!);
      let config = ckFile?.checkpoint.config ?? runJson?.config;
      if (!config) {
        if (!a.objective)
          throw new UsageError(`export: ${adapterDir} has no run.json; pass --objective sft|dpo|orpo|clo`);
        config = defaultTrainConfig(a.objective as ObjectiveName, lora ? { lora: { ...lora.config } } : {});
      }
      const ckData = ckFile?.run.data_file as string | undefined;
      const dataPath = (a.data as string | undefined) ?? ckData ?? runJson?.data?.file;
      if (!dataPath) throw new UsageError('export: --format trl needs --data FILE (no data file named in run.json)');
      const text = readInputText('export', 'data', dataPath);
      const parsed =
        config.objective === 'pt'
          ? parseTextRows(text, dataPath)
          : parseDataFile(text, dataPath, {
              // the row kind is the objective's own fact (objectives/*.ts `accepts`)
              expect: getObjective(config.objective).accepts[0],
              chatTemplate: model.tokenizer.chatTemplate ?? null,
            });
      if (parsed.errors.length) {
        for (const l of formatErrors(parsed, 5)) log(l);
        log(`${dataPath}: skipped ${parsed.errors.length} of ${parsed.total} rows`);
      }
      if (parsed.rows.length === 0) throw new Error(`${dataPath}: no usable rows for ${config.objective}`);
      // the adapter to start from, in the layout of the merged base written next to it: the checkpoint's,
      // --adapter, else the lab's own step-0 initialisation for the run's seed
      let snap = null;
      if (!ckFile && lora) snap = await snapshotLora(lora);
      else if (!ckFile) {
        const init = createLora(model.config, config.lora, config.seed);
        snap = await snapshotLora(init);
        disposeLora(init);
      }
      const files = await trlExportFiles({
        model,
        config,
        rows: parsed.rows,
        checkpoint: ckFile?.checkpoint ?? null,
        lora: snap,
        run: ckFile?.run ?? null,
      });
      for (const [n, b] of files) write(n, b);
    }
  } finally {
    if (lora) disposeLora(lora);
  }
  const written = atomicWriteFiles(outDir, pending);
  if (a.json) console.log(JSON.stringify({ files: written }));
  else {
    log(`wrote ${written.length} files to ${outDir}`);
    for (const f of written) console.log(resolve(outDir, f));
  }
  return 0;
}
