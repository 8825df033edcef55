/**
 * Models the lab made and keeps in the browser (the Vocabulary step's extended models), stored as
 * the files of a Hugging Face model folder (config.json, model.safetensors, tokenizer.json, …), so
 * the loader reads them back exactly as it reads a picked folder (formats/model-spec.ts, kind
 * 'stored'). Metadata and files sit under separate keys, so listing never reads the weights.
 *
 *   const models = new ModelStore(idbStore());
 *   const meta = await models.save({ name, base, vocabSize, added, init }, files);
 *   await models.list();            // newest first, metadata only
 *   await models.files(meta.id);    // { 'config.json': Uint8Array, … }
 */
import type { KeyValueStore } from './types';
import { approxBytes, ensureRoom } from './idb';

export interface StoredModelMeta {
  id: string;
  name: string;
  /** the model it was made from */
  base: string;
  vocabSize: number;
  /** added tokens (ids vocabSize - added … vocabSize - 1) */
  added: number;
  init: string;
  createdAt: number;
  /** total bytes of the files */
  bytes: number;
  /** anything else worth showing (tokens/char before/after, corpus) */
  notes?: Record<string, string | number | null>;
}

export type StoredModelFiles = Record<string, Uint8Array>;

export type NewStoredModel = Omit<StoredModelMeta, 'id' | 'createdAt' | 'bytes'> & { id?: string };

export const modelMetaKey = (id: string) => `modelmeta:${id}`;
export const modelFilesKey = (id: string) => `modelfiles:${id}`;

export function newModelId(now = Date.now()): string {
  return `m-${now.toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}

export class ModelStore {
  constructor(readonly kv: KeyValueStore) {}

  async list(): Promise<StoredModelMeta[]> {
    const keys = await this.kv.keys('modelmeta:');
    const metas = await Promise.all(keys.map((k) => this.kv.get<StoredModelMeta>(k)));
    return metas.filter((m): m is StoredModelMeta => !!m).sort((a, b) => b.createdAt - a.createdAt);
  }

  get(id: string): Promise<StoredModelMeta | undefined> {
    return this.kv.get<StoredModelMeta>(modelMetaKey(id));
  }

  /** The model's files; throws naming the model when they are gone. */
  async files(id: string): Promise<StoredModelFiles> {
    const f = await this.kv.get<StoredModelFiles>(modelFilesKey(id));
    if (!f) throw new Error(`stored model ${id} is not in this browser's storage any more (deleted?)`);
    return f;
  }

  /** Files first, then metadata, so a listed model always has its files. */
  async save(info: NewStoredModel, files: StoredModelFiles): Promise<StoredModelMeta> {
    const id = info.id ?? newModelId();
    const bytes = Object.values(files).reduce((n, b) => n + b.byteLength, 0);
    const meta: StoredModelMeta = { ...info, id, createdAt: Date.now(), bytes };
    await ensureRoom(approxBytes(files) * 1.1, `model "${info.name}"`);
    await this.kv.set(modelFilesKey(id), files);
    await this.kv.set(modelMetaKey(id), meta);
    return meta;
  }

  async delete(id: string): Promise<void> {
    await this.kv.del(modelMetaKey(id));
    await this.kv.del(modelFilesKey(id));
  }
}
