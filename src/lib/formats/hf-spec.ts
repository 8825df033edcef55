/**
 * A serialisable description of a Hugging Face model to load, as produced by the UI
 * (HfModelLoader.svelte) and posted to the training worker, which turns it back into a FileSource.
 * File/Blob objects survive postMessage (structured clone) without copying their bytes.
 */
import type { KeyValueStore } from '../store/types';
import { blobSource, rootedAt, type FileSource, type NamedBlob } from './file-source';
import { loadHfModel, type HfLoadOptions } from './hf-load';
import { openUrlSource, type UrlProgress } from './url-source';
import type { LoadedModel } from '../model/model';

export type HfModelSpec =
  { kind: 'files'; name: string; files: NamedBlob[] } | { kind: 'url'; name: string; url: string };

export interface SpecCheck {
  ok: boolean;
  /** one line; empty when ok */
  message: string;
  /** bytes of *.safetensors */
  weightBytes: number;
}

/** Checks a file pick before it is sent anywhere: config.json, tokenizer.json and safetensors weights present. */
export function checkPickedFiles(files: NamedBlob[]): SpecCheck {
  const names = files.map((f) => f.name);
  const src = rootedAt({ list: () => names, read: async () => new Uint8Array() }, 'config.json');
  const inRoot = src.list();
  const weights = files.filter(
    (f) => f.name.endsWith('.safetensors') && !f.name.split('/').pop()!.startsWith('adapter_'),
  );
  const weightBytes = weights.reduce((s, f) => s + f.blob.size, 0);
  const missing: string[] = [];
  if (!inRoot.includes('config.json')) missing.push('config.json');
  if (!inRoot.includes('tokenizer.json')) missing.push('tokenizer.json');
  if (weights.length === 0)
    missing.push(
      names.some((n) => /\.(bin|pt|pth)$/.test(n)) ? '*.safetensors (PyTorch .bin is not supported)' : '*.safetensors',
    );
  return missing.length
    ? { ok: false, message: `The selection lacks ${missing.join(', ')}.`, weightBytes }
    : { ok: true, message: '', weightBytes };
}

export interface OpenSpecOptions {
  store?: KeyValueStore | null;
  onProgress?: (p: UrlProgress) => void;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

export async function sourceFromSpec(spec: HfModelSpec, opts: OpenSpecOptions = {}): Promise<FileSource> {
  if (spec.kind === 'files') return blobSource(spec.files, spec.name);
  return openUrlSource(spec.url, opts);
}

/** Worker side: spec → LoadedModel. */
export async function loadHfSpec(spec: HfModelSpec, opts: OpenSpecOptions & HfLoadOptions = {}): Promise<LoadedModel> {
  return loadHfModel(await sourceFromSpec(spec, opts), spec.name, opts);
}
