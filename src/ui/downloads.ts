/** Browser downloads of a run's metrics (JSON, CSV) and adapter. */
import type { RunRecord } from '../lib/store/runs';
import { runStore } from './stores/runs';
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
  if (format === 'csv') downloadBlob(`${safe(run.name)}.metrics.csv`, new Blob([metricsToCsv(run.metrics)], { type: 'text/csv' }));
  else {
    const doc = { id: run.id, name: run.name, config: run.config, datasetId: run.datasetId, model: run.modelName, status: run.status, metrics: run.metrics };
    downloadBlob(`${safe(run.name)}.run.json`, new Blob([JSON.stringify(doc, null, 1)], { type: 'application/json' }));
  }
}

/**
 * The run's last checkpointed adapter. PEFT layout needs src/lib/formats/peft.ts (another part of the
 * lab); until it is wired in, this downloads the LoRA snapshot as JSON (A/B as number arrays).
 */
export async function downloadAdapter(run: RunRecord): Promise<void> {
  const ckpt = await runStore.loadCheckpoint(run.id);
  if (!ckpt) throw new Error(`run "${run.name}" has no saved checkpoint yet`);
  const tensors = Object.fromEntries(
    Object.entries(ckpt.lora.tensors).map(([k, t]) => [k, { aShape: t.aShape, bShape: t.bShape, A: Array.from(t.A), B: Array.from(t.B) }]),
  );
  const doc = { format: 'clo-lab-lora-snapshot', step: ckpt.step, model: run.modelName, config: ckpt.lora.config, tensors };
  downloadBlob(`${safe(run.name)}.adapter.json`, new Blob([JSON.stringify(doc)], { type: 'application/json' }));
}
