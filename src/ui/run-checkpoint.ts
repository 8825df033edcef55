/**
 * A run's checkpoint between the page and the CLI, in the one checkpoint format
 * (src/lib/formats/checkpoint.ts, `checkpoint.safetensors`):
 * - downloadCheckpoint: a browser run's last checkpoint as a file, with the run's model name and the
 *   fingerprint of its dataset's rows; `npm run lab -- train --resume FILE --data DATA --out DIR` continues it.
 * - importCheckpoint: a checkpoint file (the CLI's, or a downloaded one) becomes a paused run of this
 *   page, on the stored dataset whose rows have the fingerprint the checkpoint names; Resume continues it.
 */
import { checkpointFromBytes, checkpointToBytes } from '../lib/formats/checkpoint';
import { dataFingerprint } from '../lib/data/fingerprint';
import { newRunId, type RunRecord } from '../lib/store/runs';
import { EMBEDDED_NAME } from '../lib/formats/model-spec';
import { runStore, refreshRuns } from './stores/runs.svelte';
import { datasetStore } from './stores/datasets.svelte';
import { downloadBlob } from './downloads';

const safe = (s: string) => s.replace(/[^\w.-]+/g, '_');

/** The file name a run's checkpoint downloads as. */
export const checkpointFileName = (run: RunRecord) => `${safe(run.name)}.checkpoint.safetensors`;

/** The run's last checkpoint as checkpoint.safetensors bytes (its dataset's fingerprint in the run record). */
export async function checkpointFile(run: RunRecord): Promise<Uint8Array> {
  const ckpt = await runStore.loadCheckpoint(run.id);
  if (!ckpt) throw new Error(`run "${run.name}" has no saved checkpoint yet`);
  const [rows, meta] = await Promise.all([datasetStore.getRows(run.datasetId), datasetStore.getMeta(run.datasetId)]);
  if (!rows) throw new Error(`dataset "${run.datasetId}" of run "${run.name}" is not in browser storage`);
  return checkpointToBytes(ckpt, {
    source: 'page',
    name: run.name,
    model_name: run.modelName,
    data_fingerprint: dataFingerprint(rows),
    data_name: meta?.fileName ?? meta?.name ?? run.datasetId,
  });
}

export async function downloadCheckpoint(run: RunRecord): Promise<void> {
  const bytes = await checkpointFile(run);
  downloadBlob(
    checkpointFileName(run),
    new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }),
  );
}

/**
 * Stores a checkpoint file as a paused run (resumable from the run list). Refused, naming the field,
 * when no stored dataset has the rows it trained on (data_fingerprint) or it has nothing left to train.
 */
export async function importCheckpoint(bytes: Uint8Array, fileName: string): Promise<RunRecord> {
  const { checkpoint, run } = await checkpointFromBytes(bytes, fileName);
  if (checkpoint.step >= checkpoint.config.steps)
    throw new Error(
      `${fileName}: the checkpoint is at its last step (${checkpoint.step} of config.steps ${checkpoint.config.steps}); nothing to continue`,
    );
  const want = run.data_fingerprint;
  if (!want)
    throw new Error(`${fileName}: the checkpoint records no data_fingerprint, so its training rows cannot be found`);
  let datasetId: string | null = null;
  for (const meta of await datasetStore.list()) {
    const rows = await datasetStore.getRows(meta.id);
    if (rows && dataFingerprint(rows) === want) {
      datasetId = meta.id;
      break;
    }
  }
  if (!datasetId)
    throw new Error(
      `${fileName}: no dataset in this browser has the rows the checkpoint trained on (data_fingerprint ${want}${run.data_file ? `, from ${run.data_file}` : ''}): add that data in the Data view, then import again`,
    );
  const now = Date.now();
  const record: RunRecord = {
    id: newRunId(now),
    name: run.name ?? fileName.replace(/\.checkpoint\.safetensors$|\.safetensors$/, ''),
    createdAt: now,
    updatedAt: now,
    config: checkpoint.config,
    datasetId,
    modelName: run.model_name ?? EMBEDDED_NAME,
    status: 'paused',
    metrics: checkpoint.metrics,
    lastCheckpointStep: checkpoint.step,
  };
  await runStore.save(record);
  await runStore.saveCheckpoint(record.id, checkpoint);
  await refreshRuns();
  return record;
}
