/**
 * DatasetStore: datasets the user imported, bundled sets once loaded, and pairs built in the lab,
 * each with its rows and validation report. Framework-free (page and workers share it).
 *
 *   const ds = new DatasetStore();                         // idbStore() by default
 *   const meta = await ds.save({ name, source: 'import', fileName }, parsed);  // parsed: ParseResult<TrainRow>
 *   await ds.list();                                       // metadata only, newest first
 *   await ds.getRows(meta.id);                             // TrainRow[] | undefined
 *   await ds.delete(meta.id);
 *
 * Keys: `dsmeta:<id>` (DatasetMeta) and `dsrows:<id>` (TrainRow[]), so listing never loads rows.
 * save() checks navigator.storage.estimate() first and throws StorageQuotaError when it will not fit.
 */
import type { ParseResult, RowError, RowKind, TrainRow } from '../data/rows';
import type { KeyValueStore } from './types';
import { approxBytes, ensureRoom, idbStore } from './idb';

export interface ValidationReport {
  total: number;
  accepted: number;
  rejected: RowError[];
}

export interface DatasetMeta {
  id: string;
  name: string;
  /** 'bundled' (public/data), 'import' (file picker / drop), 'pairs' (built in the Pairs view), or another tag */
  source: string;
  fileName?: string;
  /** row kind, or 'mixed' when a file holds several */
  kind: RowKind | 'mixed' | 'empty';
  count: number;
  createdAt: number;
  report: ValidationReport;
  license?: string;
  attribution?: string;
  /** target language for CLO sets, e.g. 'ko' */
  lang?: string;
}

export type NewDataset = Omit<DatasetMeta, 'id' | 'kind' | 'count' | 'createdAt' | 'report'> & { id?: string };

export function rowsKind(rows: TrainRow[]): DatasetMeta['kind'] {
  if (rows.length === 0) return 'empty';
  const k = rows[0].kind;
  return rows.every((r) => r.kind === k) ? k : 'mixed';
}

export function newDatasetId(now = Date.now()): string {
  return `ds-${now.toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}

export class DatasetStore {
  constructor(readonly kv: KeyValueStore = idbStore()) {}

  async list(): Promise<DatasetMeta[]> {
    const keys = await this.kv.keys('dsmeta:');
    const metas = await Promise.all(keys.map((k) => this.kv.get<DatasetMeta>(k)));
    return metas.filter((m): m is DatasetMeta => !!m).sort((a, b) => b.createdAt - a.createdAt);
  }

  getMeta(id: string): Promise<DatasetMeta | undefined> {
    return this.kv.get<DatasetMeta>(`dsmeta:${id}`);
  }

  getRows(id: string): Promise<TrainRow[] | undefined> {
    return this.kv.get<TrainRow[]>(`dsrows:${id}`);
  }

  /** Stores rows + report; returns the metadata. Rows go first so a listed dataset always has rows. */
  async save(info: NewDataset, parsed: ParseResult<TrainRow>): Promise<DatasetMeta> {
    const id = info.id ?? newDatasetId();
    const meta: DatasetMeta = {
      ...info,
      id,
      kind: rowsKind(parsed.rows),
      count: parsed.rows.length,
      createdAt: Date.now(),
      report: { total: parsed.total, accepted: parsed.rows.length, rejected: parsed.errors },
    };
    await ensureRoom(approxBytes(parsed.rows) * 1.2, `dataset "${info.name}"`);
    await this.kv.set(`dsrows:${id}`, parsed.rows);
    await this.kv.set(`dsmeta:${id}`, meta);
    return meta;
  }

  async delete(id: string): Promise<void> {
    await this.kv.del(`dsmeta:${id}`);
    await this.kv.del(`dsrows:${id}`);
  }
}
