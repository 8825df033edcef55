/**
 * Dataset state for the views: stored datasets (IndexedDB), the bundled manifest, and which
 * dataset the Train view uses. Other views hand a dataset to training with `useForTraining(id)`.
 */
import { DatasetStore, type DatasetMeta } from '../../lib/store/datasets';
import { parseDataFile, type ParseDataOptions } from '../../lib/data/index';
import { checkManifest, type DataManifest, type DatasetEntry } from '../../lib/data/manifest';
import { goto } from './navigation.svelte';

export const datasetStore = new DatasetStore();

export interface ManifestState {
  status: 'loading' | 'ready' | 'missing';
  data: DataManifest | null;
  error?: string;
}

class DatasetsState {
  /** stored datasets (IndexedDB), as last listed */
  list = $state.raw<DatasetMeta[]>([]);
  /** the bundled data manifest */
  manifest = $state.raw<ManifestState>({ status: 'loading', data: null });
  /** DatasetStore id the Train view trains on */
  trainingId = $state<string | null>(null);
}

export const datasets = new DatasetsState();

export async function refreshDatasets(): Promise<DatasetMeta[]> {
  const list = await datasetStore.list();
  datasets.list = list;
  return list;
}

export async function loadManifest(): Promise<void> {
  try {
    const res = await fetch(`${import.meta.env.BASE_URL}data/manifest.json`);
    if (!res.ok) throw new Error(`data/manifest.json: HTTP ${res.status}`);
    datasets.manifest = { status: 'ready', data: checkManifest(await res.json()) };
  } catch (err) {
    datasets.manifest = { status: 'missing', data: null, error: err instanceof Error ? err.message : String(err) };
  }
}

export const bundledId = (entry: DatasetEntry) => `bundled-${entry.id}`;

/** Trainable bundled sets (SFT rows or CLO pairs); the others feed the Pairs and Evaluate views. */
export const isTrainable = (entry: DatasetEntry) => entry.kind === 'sft' || entry.kind === 'clo';

/** Fetches, parses and stores a bundled dataset (once); returns its metadata. */
export async function loadBundled(entry: DatasetEntry): Promise<DatasetMeta> {
  const id = bundledId(entry);
  const have = await datasetStore.getMeta(id);
  if (have) return have;
  const res = await fetch(`${import.meta.env.BASE_URL}${entry.file}`);
  if (!res.ok) throw new Error(`${entry.file}: HTTP ${res.status}`);
  const parsed = parseDataFile(await res.text(), entry.file.split('/').pop() ?? entry.file);
  const meta = await datasetStore.save(
    {
      id,
      name: entry.title,
      source: 'bundled',
      fileName: entry.file,
      license: entry.licence,
      attribution: entry.attribution,
      lang: entry.languages.find((l) => l !== 'en'),
    },
    parsed,
  );
  await refreshDatasets();
  return meta;
}

/** Parses user file text with the data layer and stores the accepted rows with the report. */
export async function importText(text: string, fileName: string, opts: ParseDataOptions = {}) {
  const parsed = parseDataFile(text, fileName, opts);
  if (parsed.rows.length === 0) return { parsed, meta: null };
  const meta = await datasetStore.save({ name: fileName, source: 'import', fileName }, parsed);
  await refreshDatasets();
  return { parsed, meta };
}

export async function deleteDataset(id: string): Promise<void> {
  await datasetStore.delete(id);
  if (datasets.trainingId === id) datasets.trainingId = null;
  await refreshDatasets();
}

/** Selects a stored dataset for training and opens the Train view (used by Data and Pairs). */
export async function useForTraining(id: string): Promise<void> {
  await refreshDatasets();
  datasets.trainingId = id;
  goto('train');
}
