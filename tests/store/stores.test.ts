import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/lib/store/memory';
import { RunStore, isInterrupted, type RunRecord } from '../../src/lib/store/runs';
import { DatasetStore, rowsKind } from '../../src/lib/store/datasets';
import { approxBytes, isQuotaError, StorageQuotaError, withQuotaErrors } from '../../src/lib/store/idb';
import { metricsToCsv } from '../../src/ui/metrics-csv';
import type { TrainCheckpoint, TrainConfig } from '../../src/lib/train/types';
import type { KeyValueStore } from '../../src/lib/store/types';

const config = { objective: 'clo', steps: 10 } as unknown as TrainConfig;
const record = (id: string, createdAt: number): RunRecord => ({
  id,
  name: id,
  createdAt,
  updatedAt: createdAt,
  config,
  datasetId: 'd1',
  modelName: 'stories260K',
  status: 'running',
  metrics: [],
  lastCheckpointStep: null,
});

describe('RunStore', () => {
  it('lists newest first, updates, checkpoints and deletes with extras', async () => {
    const runs = new RunStore(memoryStore());
    await runs.save(record('a', 1));
    await runs.save(record('b', 2));
    expect((await runs.list()).map((r) => r.id)).toEqual(['b', 'a']);

    const m = { step: 1, loss: 2.5, lr: 1e-3, grad_norm: 1, tokens_per_s: 10, tokens: 64, ms: 100 };
    const ckpt = {
      step: 3,
      config,
      lora: {
        config: {},
        tensors: {
          '0.q_proj': { A: new Float32Array([1, 2]), B: new Float32Array([0]), aShape: [1, 2], bShape: [1, 1] },
        },
      },
      optimizer: { t: 3, m: {}, v: {} },
      metrics: [m, { ...m, step: 2 }, { ...m, step: 3 }],
    } as unknown as TrainCheckpoint;
    await runs.saveCheckpoint('a', ckpt);
    const a = await runs.get('a');
    expect(a?.lastCheckpointStep).toBe(3);
    expect(a?.metrics.map((x) => x.step)).toEqual([1, 2, 3]);
    const back = await runs.loadCheckpoint('a');
    expect(Array.from(back!.lora.tensors['0.q_proj'].A)).toEqual([1, 2]);

    await runs.putExtra('a', 'eval', { acc: 0.5 });
    expect(await runs.getExtra('a', 'eval')).toEqual({ acc: 0.5 });
    await runs.delete('a');
    expect(await runs.get('a')).toBeUndefined();
    expect(await runs.loadCheckpoint('a')).toBeUndefined();
    expect(await runs.getExtra('a', 'eval')).toBeUndefined();
    await expect(runs.update('zzz', { status: 'stopped' })).rejects.toThrow(/no run "zzz"/);
  });

  it('a running or paused run that no live worker holds is interrupted', () => {
    expect(isInterrupted(record('a', 1), null)).toBe(true);
    expect(isInterrupted(record('a', 1), 'a')).toBe(false);
    expect(isInterrupted({ ...record('a', 1), status: 'completed' }, null)).toBe(false);
    expect(isInterrupted({ ...record('a', 1), status: 'paused' }, 'b')).toBe(true);
  });
});

describe('DatasetStore', () => {
  it('stores rows and the validation report; lists metadata only', async () => {
    const kv = memoryStore();
    const ds = new DatasetStore(kv);
    const rows = [
      { kind: 'sft' as const, prompt: 'p1', response: 'r1' },
      { kind: 'sft' as const, prompt: 'p2', response: 'r2' },
    ];
    const meta = await ds.save(
      { name: 'x.jsonl', source: 'import' },
      { rows, errors: [{ line: 3, message: 'bad' }], total: 3 },
    );
    expect(meta.kind).toBe('sft');
    expect(meta.count).toBe(2);
    expect(meta.report).toEqual({ total: 3, accepted: 2, rejected: [{ line: 3, message: 'bad' }] });
    const list = await ds.list();
    expect(list).toHaveLength(1);
    expect('rows' in list[0]).toBe(false);
    expect(await ds.getRows(meta.id)).toEqual(rows);
    await ds.delete(meta.id);
    expect(await ds.list()).toEqual([]);
    expect(await kv.keys()).toEqual([]);
  });

  it('rowsKind says mixed and empty', () => {
    expect(rowsKind([])).toBe('empty');
    expect(
      rowsKind([
        { kind: 'sft', prompt: '', response: '' },
        { kind: 'preference', prompt: '', chosen: '', rejected: '' },
      ]),
    ).toBe('mixed');
  });
});

describe('quota handling', () => {
  it('turns a DOMException-like QuotaExceededError into StorageQuotaError naming the key', async () => {
    const failing: KeyValueStore = {
      ...memoryStore(),
      async set() {
        const e = new Error('quota');
        e.name = 'QuotaExceededError';
        throw e;
      },
    };
    const kv = withQuotaErrors(failing);
    await expect(kv.set('ckpt:r1', 1)).rejects.toBeInstanceOf(StorageQuotaError);
    await expect(kv.set('ckpt:r1', 1)).rejects.toThrow(/storage is full: could not save "ckpt:r1"/);
    expect(isQuotaError({ name: 'QuotaExceededError' })).toBe(true);
    expect(isQuotaError(new Error('other'))).toBe(false);
  });

  it('approxBytes counts typed arrays exactly and strings as UTF-16', () => {
    // 'ab' = 4 bytes; key 'x' = 2 bytes; Float32Array(10) = 40 bytes; key 'y' = 2 bytes
    expect(approxBytes({ x: 'ab', y: new Float32Array(10) })).toBe(4 + 2 + 40 + 2);
  });
});

describe('metricsToCsv', () => {
  it('writes one row per step with empty cells for metrics an objective does not log', () => {
    const csv = metricsToCsv([{ step: 1, loss: 0.5, lr: 0.001, grad_norm: 2, tokens_per_s: 100, tokens: 64, ms: 640 }]);
    const [head, row] = csv.trim().split('\n');
    expect(head).toBe(
      'step,loss,loss/nll,loss/pref,rewards/chosen,rewards/rejected,rewards/margins,rewards/accuracies,lr,grad_norm,tokens_per_s,tokens,ms',
    );
    expect(row).toBe('1,0.5,,,,,,,0.001,2,100,64,640');
  });
});
