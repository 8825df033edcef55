/**
 * PairSetStore: CLO pairs built in the Pairs view, kept in IndexedDB so they survive a reload
 * (a sibling of DatasetStore; "Train on these" still copies them into a dataset).
 *
 *   const ps = new PairSetStore();                  // idbStore() by default
 *   await ps.save(meta, { pairs, failures });       // same id again overwrites (a resumed job)
 *   await ps.list();                                // metadata only, newest first
 *   await ps.get(id);                               // { pairs, failures } | undefined
 *   await ps.delete(id);
 *
 * Keys: `pairsmeta:<id>` and `pairsrows:<id>`, so listing never loads the pairs. Types are written
 * here structurally (store sits below translate/ in the layers), matching translate's CloPair and
 * RecordFailure.
 */
import type { CloRow } from '../data/rows';
import type { KeyValueStore } from './types';
import { approxBytes, ensureRoom, idbStore } from './idb';

export interface SavedPair {
  /** index of the English record */
  index: number;
  row: CloRow;
  provenance: 'joint' | 'fallback';
}

export interface SavedFailure {
  index: number;
  line?: number;
  part?: number;
  kind: string;
  why: string;
  jointReason?: string;
}

export interface PairSetMeta {
  id: string;
  /** e.g. "en_self_instruct_300.jsonl → ko" */
  name: string;
  englishName: string;
  lang: string;
  /** translator id (e.g. `parallel:jhe_en_ko_300.jsonl`, `browser`) and how the person chose it */
  translatorId: string;
  translatorLabel: string;
  createdAt: number;
  updatedAt: number;
  /** records in the job, translated (joint + fallback), failed */
  total: number;
  joint: number;
  fallback: number;
  failed: number;
  /** the job stopped before every record was done */
  complete: boolean;
  licence?: string;
  attribution?: string;
}

export interface PairSetData {
  pairs: SavedPair[];
  failures: SavedFailure[];
}

export function newPairSetId(now = Date.now()): string {
  return `ps-${now.toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}

export class PairSetStore {
  constructor(readonly kv: KeyValueStore = idbStore()) {}

  async list(): Promise<PairSetMeta[]> {
    const keys = await this.kv.keys('pairsmeta:');
    const metas = await Promise.all(keys.map((k) => this.kv.get<PairSetMeta>(k)));
    return metas.filter((m): m is PairSetMeta => !!m).sort((a, b) => b.updatedAt - a.updatedAt);
  }

  getMeta(id: string): Promise<PairSetMeta | undefined> {
    return this.kv.get<PairSetMeta>(`pairsmeta:${id}`);
  }

  get(id: string): Promise<PairSetData | undefined> {
    return this.kv.get<PairSetData>(`pairsrows:${id}`);
  }

  /** Stores the pairs first, then the metadata, so a listed set always has its pairs. */
  async save(meta: PairSetMeta, data: PairSetData): Promise<void> {
    await ensureRoom(approxBytes(data) * 1.2, `pairs "${meta.name}"`);
    await this.kv.set(`pairsrows:${meta.id}`, data);
    await this.kv.set(`pairsmeta:${meta.id}`, meta);
  }

  async delete(id: string): Promise<void> {
    await this.kv.del(`pairsmeta:${id}`);
    await this.kv.del(`pairsrows:${id}`);
  }
}
