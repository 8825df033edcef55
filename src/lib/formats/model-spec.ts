/**
 * ModelSpec: one serialisable description of "which base model", shared by the page, every worker
 * (workers/host/boot.ts loads it) and the run record (src/lib/store/runs.ts keeps a ModelRef).
 *
 *   { kind: 'embedded' }                               the bundled stories260K
 *   { kind: 'llama2c', name, modelUrl, tokenizerUrl }  llama2.c .bin + tokenizer .bin at URLs
 *   { kind: 'hf', hf: HfModelSpec }                    Hugging Face folder (picked files) or URL
 *   { kind: 'stored', id, name }                       a model the lab made (Vocabulary step), kept as
 *                                                      HF-layout files in the KeyValueStore (store/models.ts)
 *
 * A new kind (e.g. an extended-vocabulary model stored in IndexedDB) is one more union member and
 * one more entry in MODEL_LOADERS; TypeScript then points at every switch that must learn it.
 */
import { packFrozenBase, resolveBase, type BaseChoice } from '../model/packed-base';
import type { KeyValueStore } from '../store/types';
import type { LoadedModel } from '../model/model';
import type { ModelConfig } from '../model/config';
import type { ModelRef } from '../model/model-ref';

export type { ModelRef } from '../model/model-ref';
import { loadLlama2c } from './llama2c';
import { loadHfSpec, type HfModelSpec } from './hf-spec';
import { loadHfModel } from './hf-load';
import { memorySource } from './file-source';
import { ModelStore } from '../store/models';
import type { UrlProgress } from './url-source';

export const EMBEDDED_NAME = 'stories260K';

export type ModelSpec = (
  | { kind: 'embedded' }
  | { kind: 'llama2c'; name: string; modelUrl: string; tokenizerUrl: string }
  | { kind: 'hf'; hf: HfModelSpec }
  | { kind: 'stored'; id: string; name: string }
) & {
  /**
   * the frozen base's precision (model/packed-base.ts): 'f32', 'f16', 'int8', or absent / 'auto' = int8
   * above 100M parameters, else f32. The one field the page, the workers and loadModelSpec read it from.
   */
  base?: BaseChoice;
};

export const EMBEDDED_MODEL: ModelSpec = { kind: 'embedded' };

/** The model's display name (what LoadedModel.name will be). */
export function specName(spec: ModelSpec): string {
  switch (spec.kind) {
    case 'embedded':
      return EMBEDDED_NAME;
    case 'llama2c':
      return spec.name;
    case 'hf':
      return spec.hf.name;
    case 'stored':
      return spec.name;
  }
}

/** A key equal for two specs that load the same weights (File objects compared by name and size) alike. */
export function specKey(spec: ModelSpec): string {
  const base = spec.base && spec.base !== 'auto' ? `|base:${spec.base}` : '';
  return weightsKey(spec) + base;
}

function weightsKey(spec: ModelSpec): string {
  switch (spec.kind) {
    case 'embedded':
      return `embedded:${EMBEDDED_NAME}`;
    case 'llama2c':
      return `llama2c:${spec.modelUrl}|${spec.tokenizerUrl}`;
    case 'hf':
      return spec.hf.kind === 'url'
        ? `hf-url:${spec.hf.url}`
        : `hf-files:${spec.hf.name}:${spec.hf.files
            .map((f) => `${f.name}=${f.blob.size}`)
            .sort()
            .join(',')}`;
    case 'stored':
      return `stored:${spec.id}`;
  }
}

/** What a run record keeps of the model: plain data (no file bytes), enough to name and check it. */
export function modelRef(spec: ModelSpec, config: ModelConfig): ModelRef {
  const { arch, dim, hiddenDim, nLayers, nHeads, nKvHeads, headDim, vocabSize } = config;
  const dims = { arch, dim, hiddenDim, nLayers, nHeads, nKvHeads, headDim, vocabSize };
  if (spec.kind === 'hf')
    return {
      name: spec.hf.name,
      kind: spec.hf.kind === 'url' ? 'hf-url' : 'hf-files',
      url: spec.hf.kind === 'url' ? spec.hf.url : undefined,
      dims,
    };
  return { name: specName(spec), kind: spec.kind, url: spec.kind === 'llama2c' ? spec.modelUrl : undefined, dims };
}

/** "tiny-llama (Hugging Face folder; dim 64, 2 layers, vocab 300)" */
export function describeRef(ref: ModelRef): string {
  const how = {
    embedded: 'embedded',
    llama2c: 'llama2.c',
    hf: 'Hugging Face',
    'hf-files': 'Hugging Face folder',
    'hf-url': 'Hugging Face URL',
    stored: 'stored in this browser',
  }[ref.kind];
  return `${ref.name} (${how}; dim ${ref.dims.dim}, ${ref.dims.nLayers} layers, vocab ${ref.dims.vocabSize})`;
}

export interface LoadSpecOptions {
  /** resolves relative URLs (the embedded model's files) */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** caches Hugging Face URL downloads; holds the files of 'stored' models */
  store?: KeyValueStore | null;
  onDownload?: (p: UrlProgress) => void;
  /** the frozen base's precision, over spec.base (model/packed-base.ts; default 'auto': int8 above 100M parameters) */
  base?: BaseChoice;
}

async function fetchBytes(url: string, opts: LoadSpecOptions): Promise<Uint8Array> {
  const full = opts.baseUrl ? new URL(url, opts.baseUrl).href : url;
  const res = await (opts.fetch ?? fetch)(full);
  if (!res.ok) throw new Error(`${full}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function loadLlama2cUrls(
  name: string,
  modelUrl: string,
  tokenizerUrl: string,
  opts: LoadSpecOptions,
): Promise<LoadedModel> {
  const [bin, tok] = await Promise.all([fetchBytes(modelUrl, opts), fetchBytes(tokenizerUrl, opts)]);
  const last = (u: string) => u.split('/').pop() ?? u;
  return loadLlama2c(
    bin,
    tok,
    name,
    name === EMBEDDED_NAME ? EMBEDDED_NAME : modelUrl,
    last(modelUrl),
    last(tokenizerUrl),
  );
}

type Loaders = {
  [K in ModelSpec['kind']]: (spec: Extract<ModelSpec, { kind: K }>, opts: LoadSpecOptions) => Promise<LoadedModel>;
};

export const MODEL_LOADERS: Loaders = {
  embedded: (_spec, opts) =>
    loadLlama2cUrls(EMBEDDED_NAME, '/models/stories260K/stories260K.bin', '/models/stories260K/tok512.bin', opts),
  llama2c: (spec, opts) => loadLlama2cUrls(spec.name, spec.modelUrl, spec.tokenizerUrl, opts),
  hf: (spec, opts) =>
    loadHfSpec(spec.hf, {
      store: opts.store,
      fetch: opts.fetch,
      onProgress: opts.onDownload,
      base: opts.base ?? spec.base ?? 'auto',
    }),
  stored: (spec, opts) => loadStoredModel(spec, opts),
};

/** A 'stored' model: its HF-layout files read back from the injected store, loaded like a picked folder. */
export async function loadStoredModel(
  spec: Extract<ModelSpec, { kind: 'stored' }>,
  opts: LoadSpecOptions,
): Promise<LoadedModel> {
  const store = opts.store;
  if (!store) throw new Error(`${spec.name}: a stored model needs the store that holds it`);
  const files = await new ModelStore(store).files(spec.id);
  return loadHfModel(memorySource(files, spec.name), spec.name, { base: opts.base ?? spec.base ?? 'auto' });
}

/**
 * spec → LoadedModel (weights on the current tfjs backend; the block matrices packed as opts.base, else
 * spec.base, else the default for the model's size asks: resolveBase).
 */
export async function loadModelSpec(spec: ModelSpec, opts: LoadSpecOptions = {}): Promise<LoadedModel> {
  const m = await (MODEL_LOADERS[spec.kind] as (s: ModelSpec, o: LoadSpecOptions) => Promise<LoadedModel>)(spec, opts);
  const format = resolveBase(opts.base ?? spec.base, m.config);
  if (format !== 'f32') packFrozenBase(m, format);
  return m;
}
