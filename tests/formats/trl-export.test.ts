import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { trlExportFiles } from '../../src/lib/formats/trl-export';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import { createLora, disposeLora, snapshotLora } from '../../src/lib/lora/lora';
import { SafetensorsReader } from '../../src/lib/formats/safetensors';
import type { TrainCheckpoint } from '../../src/lib/train/types';
import type { TrainRow } from '../../src/lib/data/rows';
import { loadStories } from '../helpers/helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ROWS: TrainRow[] = [
  { kind: 'sft', prompt: 'Once upon a time', response: ' there was a cat.' },
  { kind: 'sft', prompt: 'Lily', response: ' went to the park.' },
];

describe('TRL export files (one assembly for the CLI and the page)', () => {
  const model = loadStories();
  const config = defaultTrainConfig('sft', { steps: 4, batchSize: 2, seed: 3 });

  async function snapshot() {
    const l = createLora(model.config, config.lora, config.seed);
    const s = await snapshotLora(l);
    disposeLora(l);
    return s;
  }

  it('from an adapter: adapter/, base/ and the bundle, no state/', async () => {
    const files = await trlExportFiles({ model, config, rows: ROWS, lora: await snapshot() });
    const names = [...files.keys()];
    expect(names).toEqual(
      expect.arrayContaining([
        'adapter/adapter_config.json',
        'adapter/adapter_model.safetensors',
        'base/model.safetensors',
        'train.py',
        'trl_config.json',
      ]),
    );
    expect(names.some((n) => n.startsWith('state/'))).toBe(false);
  });

  it('from a checkpoint: its adapter, its AdamW moments and step in state/, the run record as given', async () => {
    const lora = await snapshot();
    const m: Record<string, Float32Array> = {};
    const v: Record<string, Float32Array> = {};
    for (const [k, t] of Object.entries(lora.tensors)) {
      m[`${k}.A`] = t.A.map((_, i) => i * 1e-3);
      m[`${k}.B`] = t.B.map((_, i) => -i * 1e-3);
      v[`${k}.A`] = t.A.map(() => 0.5);
      v[`${k}.B`] = t.B.map(() => 0.25);
    }
    const ck: TrainCheckpoint = { step: 2, config, lora, optimizer: { t: 2, m, v }, metrics: [] };
    const files = await trlExportFiles({ model, config, rows: ROWS, checkpoint: ck, run: { source: 'page' } });
    const state = JSON.parse(files.get('state/lab_state.json') as string) as { step: number; run: unknown };
    expect(state.step).toBe(2);
    expect(state.run).toEqual({ source: 'page' });
    const opt = await SafetensorsReader.open(files.get('state/optimizer.safetensors') as Uint8Array, 'optimizer');
    expect(opt.names().some((n) => n.startsWith('exp_avg_sq/'))).toBe(true);
    expect(files.get('README.md')).toContain('checkpoint at step 2 of 4');
  });

  it('refuses without an adapter or checkpoint, and without rows', async () => {
    await expect(trlExportFiles({ model, config, rows: ROWS })).rejects.toThrow(/checkpoint or an adapter/);
    await expect(trlExportFiles({ model, config, rows: [], lora: await snapshot() })).rejects.toThrow(/no usable rows/);
  });
});
