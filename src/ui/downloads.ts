/** Browser downloads of a run's metrics (JSON, CSV) and adapter (PEFT layout, zipped; trained rows included). */
import { strToU8, zipSync } from 'fflate';
import { toPeft } from '../lib/formats/peft';
import { addTrainableTokens } from '../lib/formats/peft-rows';
import type { ModelConfig } from '../lib/model/config';
import type { RunRecord } from '../lib/store/runs';
import { runStore } from './stores/runs.svelte';
import { metricsToCsv } from './metrics-csv';

export function downloadBlob(fileName: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

const safe = (s: string) => s.replace(/[^\w.-]+/g, '_');

export function downloadMetrics(run: RunRecord, format: 'json' | 'csv'): void {
  if (format === 'csv')
    downloadBlob(`${safe(run.name)}.metrics.csv`, new Blob([metricsToCsv(run.metrics)], { type: 'text/csv' }));
  else {
    const doc = {
      id: run.id,
      name: run.name,
      config: run.config,
      datasetId: run.datasetId,
      model: run.modelName,
      status: run.status,
      metrics: run.metrics,
    };
    downloadBlob(`${safe(run.name)}.run.json`, new Blob([JSON.stringify(doc, null, 1)], { type: 'application/json' }));
  }
}

/**
 * The run's last checkpointed adapter in Hugging Face PEFT layout (adapter_config.json +
 * adapter_model.safetensors), zipped. Needs the run's base model config (the loaded model's).
 * A run that trained the added tokens' rows carries them PEFT's way (trainable_token_indices), as
 * the CLI's `train` writes them.
 */
export async function downloadAdapter(
  run: RunRecord,
  model: { name: string; source: string; config: ModelConfig } | null,
): Promise<void> {
  const ckpt = await runStore.loadCheckpoint(run.id);
  if (!ckpt) throw new Error(`run "${run.name}" has no saved checkpoint yet`);
  if (!model || model.name !== run.modelName)
    throw new Error(`run "${run.name}" trained ${run.modelName}: load that model to export its adapter`);
  const lora = toPeft(ckpt.lora, model.config, model.source);
  const files = ckpt.rows ? await addTrainableTokens(lora, ckpt.rows, model.config) : lora;
  const zip = zipSync({
    'adapter_config.json': strToU8(JSON.stringify(files.adapterConfig, null, 2)),
    'adapter_model.safetensors': [files.weights, { level: 0 }],
  });
  downloadBlob(`${safe(run.name)}.peft.zip`, new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
}
