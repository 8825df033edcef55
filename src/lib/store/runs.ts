/**
 * RunStore: training runs and their checkpoints, on any KeyValueStore (IndexedDB in the browser).
 * Framework-free: the train worker writes runs, the views read them.
 *
 *   const runs = new RunStore();                  // idbStore() by default
 *   await runs.save(record);                      // create or replace a RunRecord
 *   await runs.update(id, { status: 'completed' });
 *   await runs.list();                            // newest first
 *   await runs.saveCheckpoint(id, ckpt);          // latest checkpoint only; updates lastCheckpointStep + metrics
 *   await runs.loadCheckpoint(id);                // TrainCheckpoint | undefined
 *   await runs.delete(id);                        // record + checkpoint + anything under `run-extra:<id>:`
 *
 * Keys: `run:<id>` (RunRecord), `ckpt:<id>` (TrainCheckpoint), `run-extra:<id>:<name>` (free-form
 * per-run data other parts of the lab attach, e.g. evaluation results: use putExtra/getExtra).
 */
import type { StepMetrics, TrainCheckpoint, TrainConfig } from '../train/types';
import type { KeyValueStore } from './types';
import type { ModelRef } from '../model/model-ref';
import { approxBytes, ensureRoom, idbStore } from './idb';

/** 'running'/'paused' records that no live worker owns are shown as interrupted (see isInterrupted). */
export type RunStatus = 'running' | 'paused' | 'completed' | 'stopped' | 'failed';

export interface RunRecord {
  id: string;
  name: string;
  createdAt: number;
  updatedAt: number;
  config: TrainConfig;
  datasetId: string;
  /** model the adapter belongs to, e.g. 'stories260K' */
  modelName: string;
  /** the base model's kind, URL and dimensions (records written before this field lack it) */
  model?: ModelRef;
  status: RunStatus;
  /** per-step metrics up to the last save (checkpoint or end of run) */
  metrics: StepMetrics[];
  lastCheckpointStep: number | null;
  /** backend the run trained on */
  backend?: string;
  error?: string;
}

export function newRunId(now = Date.now()): string {
  return `run-${now.toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}

/** A run left 'running' or 'paused' by a page that is gone: it can be resumed from its checkpoint. */
export function isInterrupted(r: RunRecord, liveRunId: string | null): boolean {
  return (r.status === 'running' || r.status === 'paused') && r.id !== liveRunId;
}

export class RunStore {
  constructor(readonly kv: KeyValueStore = idbStore()) {}

  async list(): Promise<RunRecord[]> {
    const keys = await this.kv.keys('run:');
    const recs = await Promise.all(keys.map((k) => this.kv.get<RunRecord>(k)));
    return recs.filter((r): r is RunRecord => !!r).sort((a, b) => b.createdAt - a.createdAt);
  }

  get(id: string): Promise<RunRecord | undefined> {
    return this.kv.get<RunRecord>(`run:${id}`);
  }

  async save(r: RunRecord): Promise<void> {
    await this.kv.set(`run:${r.id}`, { ...r, updatedAt: Date.now() });
  }

  /** Shallow-merges `patch` into the stored record; throws when the run does not exist. */
  async update(id: string, patch: Partial<Omit<RunRecord, 'id'>>): Promise<RunRecord> {
    const cur = await this.get(id);
    if (!cur) throw new Error(`RunStore: no run "${id}"`);
    const next = { ...cur, ...patch, id, updatedAt: Date.now() };
    await this.kv.set(`run:${id}`, next);
    return next;
  }

  async saveCheckpoint(id: string, ckpt: TrainCheckpoint): Promise<void> {
    await ensureRoom(approxBytes(ckpt) * 1.2, `the checkpoint of run ${id}`);
    await this.kv.set(`ckpt:${id}`, ckpt);
    await this.update(id, { lastCheckpointStep: ckpt.step, metrics: ckpt.metrics });
  }

  loadCheckpoint(id: string): Promise<TrainCheckpoint | undefined> {
    return this.kv.get<TrainCheckpoint>(`ckpt:${id}`);
  }

  putExtra<T>(id: string, name: string, value: T): Promise<void> {
    return this.kv.set(`run-extra:${id}:${name}`, value);
  }

  getExtra<T>(id: string, name: string): Promise<T | undefined> {
    return this.kv.get<T>(`run-extra:${id}:${name}`);
  }

  async delete(id: string): Promise<void> {
    const extras = await this.kv.keys(`run-extra:${id}:`);
    await Promise.all([this.kv.del(`run:${id}`), this.kv.del(`ckpt:${id}`), ...extras.map((k) => this.kv.del(k))]);
  }
}
