import { describe, expect, it, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadStories, ROOT } from '../helpers/helpers';
import { corpusTexts, DEFAULT_CORPUS_FILES } from '../../src/lib/vocab/corpus';
import { extendModel } from '../../src/lib/vocab/extend-model';
import { chunkText } from '../../src/lib/objectives/pt';
import { Trainer } from '../../src/lib/train/trainer';
import { rowsFromTensors, rowsToTensors } from '../../src/lib/train/trainable-rows';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/lib/formats/checkpoint';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import type { LoadedModel } from '../../src/lib/model/model';
import type { TrainRow } from '../../src/lib/data/rows';

const read = (f: string) => corpusTexts(readFileSync(resolve(ROOT, 'public', f), 'utf8'), f);

describe('continued pretraining (pt) with trainable embedding rows', () => {
  let model: LoadedModel;
  let rows: TrainRow[];
  beforeAll(async () => {
    await tf.setBackend('cpu');
    const base = loadStories();
    const corpus = read(DEFAULT_CORPUS_FILES[1]);
    model = (await extendModel(base, corpus, { add: 96, init: 'mean', seed: 0 })).model;
    rows = corpus.slice(0, 40).map((t) => ({ kind: 'sft', prompt: '', response: t }));
  });

  it('chunks a long text into windows overlapping by one token: every token after BOS is a target once', () => {
    const text = '옛날 옛적에 작은 마을에 한 소녀가 살았습니다. '.repeat(12);
    const ids = model.tokenizer.encode(text, { bos: true });
    ids.push(model.tokenizer.eosId!);
    const chunks = chunkText(model.tokenizer, text, 16);
    expect(chunks.every((c) => c.ids.length <= 16 && c.start === 1)).toBe(true);
    const targets = chunks.flatMap((c) => c.ids.slice(1));
    expect(targets).toEqual(ids.slice(1));
    expect(chunks[1].ids[0]).toBe(chunks[0].ids[15]);
  });

  const cfg = (steps: number) =>
    defaultTrainConfig('pt', {
      steps,
      batchSize: 2,
      lr: 1e-2,
      maxSeqLen: 32,
      seed: 5,
      trainRowsFrom: 512,
      lora: { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'], init: 'gaussian' },
    });

  it('trains only the new rows (old rows bit-for-bit) and lowers the loss', async () => {
    const before = (await model.weights.embed.data()) as Float32Array;
    const t = Trainer.create(model, rows, { ...cfg(8), lora: { ...cfg(8).lora, targets: [] } });
    for (let i = 0; i < 8; i++) await t.step();
    const { embed } = t.rows!.merged();
    const after = (await embed.data()) as Float32Array;
    for (let i = 0; i < 512 * 64; i++) if (after[i] !== before[i]) throw new Error(`old row value ${i} changed`);
    let moved = 0;
    for (let i = 512 * 64; i < after.length; i++) if (after[i] !== before[i]) moved++;
    expect(moved).toBeGreaterThan(1000);
    expect(t.metrics[7].loss).toBeLessThan(t.metrics[0].loss);
    embed.dispose();
    t.dispose();
  });

  it('checkpoint/resume with trainable rows and LoRA continues on the same trajectory (within 1e-4), through IndexedDB (structured clone) and the checkpoint file', async () => {
    const full = Trainer.create(model, rows, cfg(6));
    for (let i = 0; i < 6; i++) await full.step();
    const fullRows = await full.rows!.snapshot();
    const half = Trainer.create(model, rows, cfg(6));
    for (let i = 0; i < 3; i++) await half.step();
    const ck = await half.checkpoint();
    half.dispose();
    expect(ck.rows!.embed.length).toBe(96 * 64);
    // the browser worker stores the TrainCheckpoint object in IndexedDB (structured clone)
    const cloned = structuredClone(ck);
    // the CLI writes checkpoint.safetensors: rows as trainable/rows.embed, read back with rowsFromTensors
    const file = await decodeCheckpoint(
      encodeCheckpoint({ checkpoint: { ...ck, rows: undefined }, run: {}, trainable: rowsToTensors(ck.rows!) }),
    );
    expect(file.checkpoint.rows).toBeUndefined();
    const fromFile = { ...file.checkpoint, rows: rowsFromTensors(file.trainable, 512, 'ck') };
    for (const resumeFrom of [cloned, fromFile]) {
      const resumed = Trainer.create(model, rows, cfg(6), resumeFrom);
      while (!resumed.done) await resumed.step();
      for (let i = 0; i < 6; i++) expect(Math.abs(resumed.metrics[i].loss - full.metrics[i].loss)).toBeLessThan(1e-4);
      const r = await resumed.rows!.snapshot();
      let maxDiff = 0;
      for (let i = 0; i < r.embed.length; i++) maxDiff = Math.max(maxDiff, Math.abs(r.embed[i] - fullRows.embed[i]));
      expect(maxDiff).toBeLessThan(1e-4);
      resumed.dispose();
    }
    full.dispose();
  });

  it('rowsLr trains the rows at their own rate: rowsLr = lr is the single-rate run, lr = 0 freezes the adapter only', async () => {
    const run = async (over: Partial<ReturnType<typeof cfg>>) => {
      const t = Trainer.create(model, rows, { ...cfg(3), ...over });
      for (let i = 0; i < 3; i++) await t.step();
      const snap = await t.rows!.snapshot();
      const b = (await t.lora.adapters.values().next().value!.B.data()) as Float32Array;
      const out = { losses: t.metrics.map((m) => m.loss), embed: snap.embed, bMax: Math.max(...b.map(Math.abs)) };
      t.dispose();
      return out;
    };
    const single = await run({});
    const same = await run({ rowsLr: 1e-2 });
    expect(same.losses).toEqual(single.losses);
    expect(Array.from(same.embed)).toEqual(Array.from(single.embed));
    const rowsOnly = await run({ lr: 0, rowsLr: 1e-2 });
    expect(rowsOnly.bMax).toBe(0);
    const init = model.weights.embed.slice([512, 0], [96, 64]);
    const start = (await init.data()) as Float32Array;
    init.dispose();
    expect(rowsOnly.embed.some((x, i) => x !== start[i])).toBe(true);
    const slow = await run({ rowsLr: 1e-4 });
    const moved = (e: Float32Array) => e.reduce((a, x, i) => a + Math.abs(x - start[i]), 0);
    expect(moved(slow.embed)).toBeLessThan(moved(single.embed) / 10);
  });

  it('a checkpoint file of a rows run without the rows is refused, naming the file', () => {
    expect(() => rowsFromTensors({}, 512, 'run/checkpoint.safetensors')).toThrow(
      /run\/checkpoint\.safetensors: the run trains embedding rows \(from id 512\) but the checkpoint holds no trainable\/rows\.embed/,
    );
  });
});
