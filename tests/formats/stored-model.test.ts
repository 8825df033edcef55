/**
 * The 'stored' ModelSpec kind: an extended model written as HF-layout files into a
 * KeyValueStore (ModelStore, what the vocabulary worker does in IndexedDB) loads back through
 * loadModelSpec with the store injected, with the same vocabulary, tokenizer and logits as the
 * model that was stored.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadStories, ROOT } from '../helpers/helpers';
import { corpusTexts } from '../../src/lib/vocab/corpus';
import { extendModel, type ExtendResult } from '../../src/lib/vocab/extend-model';
import { exportMerged } from '../../src/lib/formats/merged';
import {
  describeRef,
  loadModelSpec,
  modelRef,
  specKey,
  specName,
  type ModelSpec,
} from '../../src/lib/formats/model-spec';
import { memoryStore } from '../../src/lib/store/memory';
import { ModelStore } from '../../src/lib/store/models';
import { forward } from '../../src/lib/model/forward';
import type { LoadedModel } from '../../src/lib/model/model';

const SAMPLE = '오늘은 날씨가 좋아서 공원에 갔어요. Once upon a time, Lily played.';

describe('stored extended model: ModelStore + {kind: "stored"} loader', () => {
  let base: LoadedModel;
  let ext: ExtendResult;
  const kv = memoryStore();
  const store = new ModelStore(kv);
  let spec: ModelSpec;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    base = loadStories();
    const f = 'data/parallel/jhe_en_ko_300.jsonl';
    const texts = corpusTexts(readFileSync(resolve(ROOT, 'public', f), 'utf8'), f);
    ext = await extendModel(base, texts, { add: 64, init: 'mean', seed: 0 });
    const files = await exportMerged(ext.model, null);
    const meta = await store.save(
      { name: ext.model.name, base: base.name, vocabSize: ext.model.config.vocabSize, added: 64, init: 'mean' },
      Object.fromEntries(files),
    );
    spec = { kind: 'stored', id: meta.id, name: meta.name };
  });

  it('lists the model by metadata and keeps the HF files', async () => {
    const list = await store.list();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name: ext.model.name, vocabSize: base.config.vocabSize + 64, added: 64 });
    expect(list[0].bytes).toBeGreaterThan(0);
    const files = await store.files(list[0].id);
    expect(Object.keys(files).sort()).toEqual(
      expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json']),
    );
  });

  it('loads back with the same vocabulary, tokenizer and logits', async () => {
    const m = await loadModelSpec(spec, { store: kv });
    expect(m.name).toBe(ext.model.name);
    expect(m.config.vocabSize).toBe(base.config.vocabSize + 64);
    const ids = ext.model.tokenizer.encode(SAMPLE, { bos: true });
    expect(m.tokenizer.encode(SAMPLE, { bos: true })).toEqual(ids);
    expect(ids.some((id) => id >= base.config.vocabSize)).toBe(true);
    const x = tf.tensor2d([ids], [1, ids.length], 'int32');
    const a = forward(ext.model, x);
    const b = forward(m, x);
    const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
    expect(diff).toBeLessThan(1e-4);
    tf.dispose([x, a, b]);
  });

  it('names the kind in specs and run records', () => {
    expect(specName(spec)).toBe(ext.model.name);
    expect(specKey(spec)).toBe(`stored:${(spec as { id: string }).id}`);
    const ref = modelRef(spec, ext.model.config);
    expect(ref.kind).toBe('stored');
    expect(describeRef(ref)).toContain('stored in this browser');
    expect(describeRef(ref)).toContain(`vocab ${base.config.vocabSize + 64}`);
  });

  it('refuses without a store, and after the model was deleted, naming it', async () => {
    await expect(loadModelSpec(spec, {})).rejects.toThrow(ext.model.name);
    const other = new ModelStore(memoryStore());
    const meta = await other.save({ name: 'gone', base: 'x', vocabSize: 1, added: 1, init: 'mean' }, {});
    await other.delete(meta.id);
    await expect(loadModelSpec({ kind: 'stored', id: meta.id, name: 'gone' }, { store: other.kv })).rejects.toThrow(
      meta.id,
    );
    expect(await other.list()).toEqual([]);
  });
});
