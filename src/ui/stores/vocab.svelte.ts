/**
 * Vocabulary view state: the settings, the running job of the vocabulary worker
 * (vocabJobs in workers/host/registry.ts), its progress and results, the compare-inits curves, and the extended
 * models stored in IndexedDB (ModelStore). Module state, so a job survives a view switch.
 */
import { inJobSlot, onRestart } from './jobs.svelte';
import { strToU8, zipSync } from 'fflate';
import { idbStore } from '../../lib/store/idb';
import { ModelStore, type StoredModelMeta } from '../../lib/store/models';
import type { InitMethod } from '../../lib/vocab/init';
import { EMBEDDED_NAME, type ModelSpec } from '../../lib/formats/model-spec';
import { vocabJobs } from '../../../workers/host/registry';
import type {
  ExtendSettings,
  ExtendSummary,
  VocabComparedEvent,
  VocabCorpus,
  VocabProgressEvent,
} from '../../../workers/vocab/protocol';
import { backendState, bootModel, modelSpecOf } from './backend.svelte';
import { datasetStore } from './datasets.svelte';
import { downloadBlob } from '../downloads';

export const modelStore = new ModelStore(idbStore());

export type CorpusChoice = 'bundled' | 'dataset' | 'file';

/** Default N for stories260K (about 1,024 new tokens). */
export const DEFAULT_ADD = 1024;
export const DEFAULT_COMPARE_STEPS = 40;
export const DEFAULT_SAMPLE = '오늘은 날씨가 좋아서 친구와 함께 공원에 산책을 갔어요.';

class VocabUi {
  corpus = $state<CorpusChoice>('bundled');
  datasetId = $state<string>('');
  datasetField = $state<string>('');
  file = $state<File | null>(null);
  fileColumn = $state('');
  add = $state<number>(DEFAULT_ADD);
  init = $state<InitMethod>('salt');
  seed = $state(0);
  donorMatrix = $state<File | null>(null);
  donorVocab = $state<File | null>(null);
  sample = $state(DEFAULT_SAMPLE);
  heldout = $state(20);
  steps = $state(DEFAULT_COMPARE_STEPS);
  /** Compare inits stores each init's trained model (they can be used or deleted after) */
  keep = $state(true);
  /** the model the last extension started from: Compare inits starts from it too, so both agree */
  extendedFrom = $state<{ spec: ModelSpec | undefined; name: string } | null>(null);

  running = $state<'extend' | 'compare' | null>(null);
  progress = $state<VocabProgressEvent | null>(null);
  summary = $state<ExtendSummary | null>(null);
  /** losses per init while (and after) compare runs */
  curves = $state<Record<InitMethod, number[]>>({ salt: [], mean: [], random: [] });
  compared = $state<VocabComparedEvent | null>(null);
  error = $state<string | null>(null);
  backend = $state<string | null>(null);
  stored = $state<StoredModelMeta[]>([]);
}

export const vocab = new VocabUi();

vocabJobs.onReady((r) => (vocab.backend = r.backend));

/** The running job's cancel (its call's signal). */
let controller: AbortController | null = null;

export async function refreshStoredModels(): Promise<void> {
  vocab.stored = await modelStore.list();
}

/** String fields of a stored dataset's rows (what "text column" can name). */
export async function datasetFields(id: string): Promise<string[]> {
  const rows = (await datasetStore.getRows(id)) ?? [];
  const keys: string[] = [];
  for (const r of rows.slice(0, 50))
    for (const [k, v] of Object.entries(r))
      if (k !== 'kind' && typeof v === 'string' && !keys.includes(k)) keys.push(k);
  return keys;
}

/** Checks the settings; returns the corpus and settings for the worker, or throws one readable line. */
async function settings(): Promise<ExtendSettings> {
  const add = Number(vocab.add);
  if (!Number.isInteger(add) || add < 1)
    throw new Error(`N new tokens must be a whole number of at least 1 (got ${String(vocab.add)})`);
  let corpus: VocabCorpus;
  if (vocab.corpus === 'bundled') corpus = { kind: 'bundled' };
  else if (vocab.corpus === 'file') {
    if (!vocab.file) throw new Error('Choose a text file for the corpus (or pick the bundled Korean data).');
    if (vocab.file.size === 0) throw new Error(`${vocab.file.name}: empty corpus`);
    corpus = { kind: 'file', name: vocab.file.name, file: vocab.file, column: vocab.fileColumn.trim() || undefined };
  } else {
    if (!vocab.datasetId) throw new Error('Choose a stored dataset for the corpus.');
    const meta = await datasetStore.getMeta(vocab.datasetId);
    const rows = (await datasetStore.getRows(vocab.datasetId)) ?? [];
    const name = meta?.name ?? vocab.datasetId;
    const field = vocab.datasetField;
    if (!field) throw new Error(`${name}: choose the text column`);
    const texts = rows
      .map((r) => (r as unknown as Record<string, unknown>)[field])
      .filter((v): v is string => typeof v === 'string' && v.trim().length > 0);
    if (texts.length === 0) throw new Error(`${name}: empty corpus (column "${field}" has no text)`);
    corpus = { kind: 'texts', name: `${name} (${field})`, texts };
  }
  const hasM = !!vocab.donorMatrix;
  const hasV = !!vocab.donorVocab;
  if (hasM !== hasV)
    throw new Error('A donor needs both files: the safetensors matrix and its vocab.txt/tokenizer.json.');
  const donor =
    hasM && hasV
      ? {
          matrix: vocab.donorMatrix!,
          matrixName: vocab.donorMatrix!.name,
          vocab: vocab.donorVocab!,
          vocabName: vocab.donorVocab!.name,
        }
      : null;
  if (donor && vocab.init !== 'salt')
    throw new Error('The donor is only used by the salt init: pick salt or remove it.');
  return { corpus, add, init: vocab.init, seed: Number(vocab.seed) || 0, donor };
}

function baseModel(): ModelSpec | undefined {
  return modelSpecOf(backendState.model) ?? undefined;
}

/**
 * The model Compare inits extends: the one the shown extension started from (after "Use this
 * model" the model in use is the extended one, which would be extended a second time), else the
 * model in use.
 */
export function compareBase(): { spec: ModelSpec | undefined; name: string } {
  return vocab.summary && vocab.extendedFrom
    ? vocab.extendedFrom
    : { spec: baseModel(), name: backendState.info?.model.name ?? backendState.model?.name ?? EMBEDDED_NAME };
}

function fail(e: unknown): void {
  vocab.error = (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

/**
 * Runs one vocabulary job in the page's job slot: sets the view's running state, reports a failure
 * (also a taken slot, which names the running job) in `vocab.error`, and frees both at the end.
 */
async function inVocabSlot(kind: 'extend' | 'compare', work: () => Promise<void>): Promise<void> {
  try {
    await inJobSlot('vocabulary', kind === 'extend' ? 'extending the vocabulary' : 'comparing inits', async () => {
      vocabJobs.configure({ backend: backendState.forced ?? undefined }, 'the backend changed');
      vocab.running = kind;
      vocab.error = null;
      vocab.progress = null;
      try {
        await work();
      } finally {
        vocab.running = null;
      }
    });
  } catch (e) {
    fail(e);
  }
}

/** The settings, or null after reporting why they are not valid. */
async function validSettings(): Promise<ExtendSettings | null> {
  try {
    return await settings();
  } catch (e) {
    fail(e);
    return null;
  }
}

/** Learns N tokens, extends and initialises the model, measures it and stores it. */
export async function startExtend(): Promise<void> {
  if (vocab.running) return;
  const s = await validSettings();
  if (!s) return;
  await inVocabSlot('extend', async () => {
    const from = {
      spec: baseModel(),
      name: backendState.info?.model.name ?? backendState.model?.name ?? EMBEDDED_NAME,
    };
    vocab.summary = await vocabJobs.call(
      'extend',
      { model: from.spec, settings: s, sample: vocab.sample, heldout: Number(vocab.heldout) || 20 },
      {
        onProgress: (p) => (vocab.progress = p),
        signal: newSignal(),
        record: { what: 'vocab-extend', label: `Vocabulary extension (${s.add} tokens)`, request: null },
      },
    );
    vocab.extendedFrom = from;
    await refreshStoredModels();
  });
}

/** Short continued pretraining of the salt, mean and random inits, same seed and data. */
export async function startCompare(): Promise<void> {
  if (vocab.running) return;
  const s = await validSettings();
  if (!s) return;
  const steps = Number(vocab.steps);
  if (!Number.isInteger(steps) || steps < 1) {
    fail(new Error(`Steps must be a whole number of at least 1 (got ${String(vocab.steps)})`));
    return;
  }
  await inVocabSlot('compare', async () => {
    vocab.curves = { salt: [], mean: [], random: [] };
    vocab.compared = null;
    vocab.compared = await vocabJobs.call(
      'compare',
      { model: compareBase().spec, settings: s, steps, heldout: Number(vocab.heldout) || 20, keep: vocab.keep },
      {
        onProgress: (p) => {
          if (p.type === 'curve') vocab.curves = { ...vocab.curves, [p.init]: [...vocab.curves[p.init], p.loss] };
          else vocab.progress = p;
        },
        signal: newSignal(),
        record: { what: 'vocab-compare', label: `Comparing inits (${steps} steps)`, request: null },
      },
    );
    if (vocab.keep) await refreshStoredModels();
  });
}

function newSignal(): AbortSignal {
  controller = new AbortController();
  return controller.signal;
}

export function cancelVocab(): void {
  controller?.abort();
}

// a restart runs the job again with the view's settings (picked files are not kept across a reload)
onRestart('vocab-extend', () => void startExtend());
onRestart('vocab-compare', () => void startCompare());

/** Makes a stored extended model the page's model (every worker reloads on it). */
export function useStoredModel(m: StoredModelMeta): void {
  bootModel({ kind: 'stored', id: m.id, name: m.name });
}

export async function deleteStoredModel(m: StoredModelMeta): Promise<void> {
  const cur = backendState.model;
  if (cur?.kind === 'stored' && cur.id === m.id)
    throw new Error(`${m.name} is the model in use: switch to another model first`);
  await modelStore.delete(m.id);
  await refreshStoredModels();
}

/** The stored model's files (Hugging Face layout), zipped: loadable by transformers and by the lab. */
export async function downloadStoredModel(m: StoredModelMeta): Promise<void> {
  const files = await modelStore.files(m.id);
  // vocab.json as `vocab` writes it (added, vocab_size), so `train --train-embeddings new` takes the folder
  const info = { added: m.added, vocab_size: m.vocabSize, init: m.init, base: m.base, name: m.name, ...m.notes };
  const meta = strToU8(JSON.stringify(info, null, 1) + '\n');
  const zip = zipSync({
    ...Object.fromEntries(Object.entries(files).map(([k, v]) => [k, [v, { level: 0 }]])),
    'vocab.json': meta,
  });
  const safe = m.name.replace(/[^\w.+-]+/g, '_');
  downloadBlob(`${safe}.zip`, new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
}
