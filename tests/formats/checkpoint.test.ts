/**
 * The one checkpoint format: a TrainCheckpoint as the page keeps it (structured clone in IndexedDB,
 * with trained rows and cached reference log-probs) converts to checkpoint.safetensors and back
 * without loss, and the run record (data fingerprint, model name) travels with it. Also the data
 * fingerprint: the same rows give the same string however their keys are ordered, other rows another.
 */
import { describe, expect, it } from 'vitest';
import { checkpointFromBytes, checkpointToBytes } from '../../src/lib/formats/checkpoint';
import { dataFingerprint } from '../../src/lib/data/fingerprint';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import type { TrainCheckpoint } from '../../src/lib/train/types';
import type { TrainRow } from '../../src/lib/data/rows';

const f32 = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k) / 7);

function checkpoint(): TrainCheckpoint {
  const config = defaultTrainConfig('clo', { steps: 9, trainRowsFrom: 510, rowsLr: 0.02 });
  return {
    step: 4,
    config,
    lora: {
      config: config.lora,
      tensors: { '0.q_proj': { A: f32(8, 1), B: f32(8, 2), aShape: [2, 4], bShape: [4, 2] } },
    },
    optimizer: {
      t: 4,
      m: { '0.q_proj.A': f32(8, 3), '0.q_proj.B': f32(8, 4), 'rows.embed': f32(6, 5) },
      v: { '0.q_proj.A': f32(8, 6), '0.q_proj.B': f32(8, 7), 'rows.embed': f32(6, 8) },
    },
    metrics: [1, 2, 3, 4].map((step) => ({
      step,
      loss: 9 - step / 3,
      lr: 1e-3,
      grad_norm: 1,
      tokens_per_s: 5,
      tokens: 10,
      ms: 2,
    })),
    reference: { 'a|b': -12.5, 'c|d': -3.25 },
    rows: { start: 510, dim: 3, embed: f32(6, 9) },
  };
}

describe('checkpoint.safetensors ↔ TrainCheckpoint', () => {
  it('converts losslessly, trained rows and reference log-probs included', async () => {
    const ck = checkpoint();
    const run = { source: 'page', model_name: 'stories260K', data_fingerprint: 'rows3-0123456789abcdef' };
    const back = await checkpointFromBytes(checkpointToBytes(ck, run), 'x.safetensors');
    expect(back.run).toEqual(run);
    expect(back.checkpoint).toEqual(ck);
  });

  it('a run without rows or reference stays without them', async () => {
    const { rows: _r, reference: _ref, ...rest } = checkpoint();
    const ck: TrainCheckpoint = { ...rest, config: { ...rest.config, trainRowsFrom: undefined } };
    delete ck.config.trainRowsFrom;
    ck.optimizer = { t: 4, m: { '0.q_proj.A': f32(8, 3) }, v: { '0.q_proj.A': f32(8, 6) } };
    const back = await checkpointFromBytes(checkpointToBytes(ck, {}));
    expect(back.checkpoint).toEqual(ck);
    expect('rows' in back.checkpoint).toBe(false);
    expect('reference' in back.checkpoint).toBe(false);
  });
});

describe('dataFingerprint', () => {
  const rows: TrainRow[] = [
    { kind: 'sft', prompt: 'a', response: 'b' },
    { kind: 'sft', prompt: 'c', response: 'd' },
  ];
  it('depends on the rows and their order, not on key order', () => {
    const reordered = rows.map((r) => JSON.parse(JSON.stringify(r, ['response', 'prompt', 'kind'])) as TrainRow);
    expect(dataFingerprint(reordered)).toBe(dataFingerprint(rows));
    expect(dataFingerprint({ length: 2, chars: 4, get: (i) => rows[i] })).toBe(dataFingerprint(rows));
    expect(dataFingerprint([rows[1], rows[0]])).not.toBe(dataFingerprint(rows));
    expect(dataFingerprint([rows[0], { kind: 'sft', prompt: 'c', response: 'e' }])).not.toBe(dataFingerprint(rows));
    // field boundaries count: "ab"+"" is not "a"+"b"
    expect(dataFingerprint([{ kind: 'sft', prompt: 'ab', response: '' }])).not.toBe(
      dataFingerprint([{ kind: 'sft', prompt: 'a', response: 'b' }]),
    );
    expect(dataFingerprint(rows)).toMatch(/^rows2-[0-9a-f]{16}$/);
  });
});
