/**
 * A run's merged model (base + adapter + trained embedding rows, made by the training worker): as a
 * zipped Hugging Face folder, or kept in this browser as a model choice, so a later stage (e.g. CLO
 * after continued pretraining) trains on what the run learned. A model with added tokens keeps the
 * count (vocab.json in the zip, `added` in the store), so its new rows can train again. Also the run's
 * TRL bundle as a zip: the CLI's `export --format trl` files (src/lib/formats/trl-export.ts), continuing
 * the run from its last checkpoint's step.
 */
import { strToU8, zipSync } from 'fflate';
import type { RunRecord } from '../lib/store/runs';
import type { StoredModelMeta } from '../lib/store/models';
import type { ModelDescription } from '../../workers/train/protocol';
import { trainJobs } from '../../workers/host/registry';
import { modelStore, refreshStoredModels } from './stores/vocab.svelte';
import { downloadBlob } from './downloads';

type Files = Record<string, Uint8Array | string>;

/** The run's merged model (base + adapter + trained embedding rows) as Hugging Face files, made by the training worker. */
function mergeRun(runId: string): Promise<Record<string, Uint8Array>> {
  return trainJobs.call('merge', { runId });
}

/** Asks the training worker for a run's files: its merged model ('merge') or its TRL bundle ('trl'). */
function request(type: 'merge' | 'trl', runId: string): Promise<Files> {
  return trainJobs.call(type, { runId });
}

const safe = (s: string) => s.replace(/[^\w.+-]+/g, '_');

function checkModel(run: RunRecord, model: ModelDescription | null): ModelDescription {
  if (!model || model.name !== run.modelName)
    throw new Error(`run "${run.name}" trained ${run.modelName}: load that model to merge the run into it`);
  return model;
}

/** The merged model's name: the base's and the run's. */
export const mergedName = (run: RunRecord) => `${run.modelName}+${run.name}`;

export async function downloadMerged(run: RunRecord, model: ModelDescription | null): Promise<void> {
  const m = checkModel(run, model);
  const files = await mergeRun(run.id);
  const extra: Record<string, Uint8Array> = {};
  if (m.added)
    extra['vocab.json'] = strToU8(
      JSON.stringify({ added: m.added, vocab_size: m.config.vocabSize, base: run.modelName, run: run.name }) + '\n',
    );
  const zip = zipSync({
    ...Object.fromEntries(Object.entries(files).map(([k, v]) => [k, [v, { level: 0 }]])),
    ...extra,
  });
  downloadBlob(`${safe(mergedName(run))}.zip`, new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
}

/** Stores the run's merged model in this browser (listed with the extended models); returns its record. */
export async function keepMerged(run: RunRecord, model: ModelDescription | null): Promise<StoredModelMeta> {
  const m = checkModel(run, model);
  const files = await mergeRun(run.id);
  const meta = await modelStore.save(
    {
      name: mergedName(run),
      base: run.modelName,
      vocabSize: m.config.vocabSize,
      added: m.added ?? 0,
      init: 'trained',
      notes: { run: run.name, objective: run.config.objective, steps: run.lastCheckpointStep },
    },
    files,
  );
  await refreshStoredModels();
  return meta;
}

/** The run's TRL bundle (train.py, data, base/, adapter/, state/ at its last checkpoint) as a zip. */
export async function downloadTrlBundle(run: RunRecord, model: ModelDescription | null): Promise<void> {
  checkModel(run, model);
  const files = await request('trl', run.id);
  const zip = zipSync(
    Object.fromEntries(
      Object.entries(files).map(([k, v]) => [k, [typeof v === 'string' ? strToU8(v) : v, { level: 0 }]]),
    ),
  );
  downloadBlob(`${safe(run.name)}.trl.zip`, new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
}
