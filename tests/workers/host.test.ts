/**
 * The worker host's pure parts: the one backend order and the software-adapter rule, the adapter /
 * model fit check (against LoRA states built for hand-picked shapes) with the engine's adapter
 * validation the workers run before loading an adapter, model-spec identity, and the
 * readable worker-crash line.
 */
import { describe, expect, it } from 'vitest';
import { BACKEND_ORDER, NODE_BACKENDS, autoOrder } from '../../src/lib/backend/order';
import { softwareAdapterName } from '../../src/lib/backend/select';
import { defaultConfig } from '../../src/lib/model/config';
import { randomWeights } from '../../src/lib/model/random';
import { createLora, disposeLora, snapshotLora } from '../../src/lib/lora/lora';
import { DEFAULT_LORA } from '../../src/lib/lora/types';
import type { LoadedModel } from '../../src/lib/model/model';
import { disposeWeights } from '../../src/lib/model/weights';
import { modelRef, specKey, specName, type ModelSpec } from '../../src/lib/formats/model-spec';
import { AdapterMismatch, checkAdapterFits } from '../../workers/host/adapter-fit';
import { AdapterError } from '../../src/lib/lora/validate-adapter';
import type { LoraSnapshot } from '../../src/lib/lora/types';
import { describeWorkerError } from '../../workers/host/crash';
import { MemoryRefusal, guardMemory, runShape } from '../../workers/host/memory-guard';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import { getObjective } from '../../src/lib/objectives/index';
import { SMOLLM2_135M } from '../../src/lib/model/reference-shapes';

describe('backend order', () => {
  it('is one list, fastest first; Node has no WebGL', () => {
    expect(BACKEND_ORDER).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
    expect(NODE_BACKENDS).toEqual(['webgpu', 'wasm', 'cpu']);
  });
  it('keeps the order with a hardware adapter', () => {
    expect(autoOrder(null)).toEqual({ order: ['webgpu', 'webgl', 'wasm', 'cpu'], demoted: null });
  });
  it('moves WebGPU and WebGL behind wasm on a software adapter, and says why', () => {
    const a = autoOrder('Google / swiftshader');
    expect(a.order).toEqual(['wasm', 'webgpu', 'webgl', 'cpu']);
    expect(a.demoted?.name).toBe('webgpu');
    expect(a.demoted?.reason).toContain('swiftshader');
    expect(autoOrder('llvmpipe', NODE_BACKENDS).order).toEqual(['wasm', 'webgpu', 'cpu']);
  });
  it('recognises software adapters by name', () => {
    expect(softwareAdapterName({ vendor: 'google', architecture: 'swiftshader' })).toBe('google / swiftshader');
    expect(softwareAdapterName({ vendor: 'nvidia', architecture: 'ampere' })).toBeNull();
  });
});

function tinyModel(name: string, dim: number, nLayers: number, vocabSize = 40): LoadedModel {
  const config = defaultConfig({ dim, nLayers, nHeads: 4, nKvHeads: 2, vocabSize, hiddenDim: 2 * dim, maxSeqLen: 32 });
  return { name, config, weights: randomWeights(config, 1), tokenizer: null as never, source: name };
}

describe('checkAdapterFits', () => {
  it('accepts an adapter built for the same model and refuses other models, naming both', async () => {
    const a = tinyModel('model-a', 16, 2);
    const b = tinyModel('model-b', 32, 2);
    const c = tinyModel('model-a', 16, 3); // same name, other depth
    const lora = createLora(a.config, DEFAULT_LORA, 0);
    const snap = await snapshotLora(lora);
    disposeLora(lora);
    const trainedOnA = {
      modelName: 'model-a',
      model: modelRef({ kind: 'hf', hf: { kind: 'url', name: 'model-a', url: 'https://x/a' } }, a.config),
    };
    expect(() => checkAdapterFits(a, snap, 'run 1', trainedOnA)).not.toThrow();
    expect(() => checkAdapterFits(b, snap, 'run 1', trainedOnA)).toThrow(AdapterMismatch);
    try {
      checkAdapterFits(b, snap, 'run 1', trainedOnA);
    } catch (e) {
      const m = (e as Error).message;
      expect(m).toContain('model-a (Hugging Face URL; dim 16, 2 layers, vocab 40)');
      expect(m).toContain('model-b (dim 32, 2 layers, vocab 40)');
      expect(m).toContain('run 1');
    }
    // same name, different shape: the dimensions catch it; an old record (name only) is caught by the tensor shapes
    expect(() => checkAdapterFits(c, snap, 'run 1', trainedOnA)).toThrow(/nLayers 2 ≠ 3/);
    const d = tinyModel('model-a', 32, 2);
    expect(() => checkAdapterFits(d, snap, 'run 1', { modelName: 'model-a' })).toThrow(
      /0\.q_proj is 16×16, this model's is 32×32/,
    );
    for (const m of [a, b, c, d]) disposeWeights(m.weights);
  });

  it("runs the engine's adapter validation: alpha and rank positive, shapes, finite values; one line naming the run", async () => {
    const a = tinyModel('model-a', 16, 2);
    const lora = createLora(a.config, { ...DEFAULT_LORA, r: 4, alpha: 8 }, 0);
    const good = await snapshotLora(lora);
    disposeLora(lora);
    const on = { modelName: 'model-a' };
    const fails = (snap: LoraSnapshot): string => {
      try {
        checkAdapterFits(a, snap, 'run 7', on);
      } catch (e) {
        expect(e).toBeInstanceOf(AdapterError);
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(fails(good)).toBe('accepted');
    expect(fails({ ...good, config: { ...good.config, alpha: 0 } })).toBe(
      'the adapter of "run 7": alpha must be a positive finite number, got 0',
    );
    expect(fails({ ...good, config: { ...good.config, alpha: NaN } })).toMatch(/alpha must be a positive finite/);
    expect(fails({ ...good, config: { ...good.config, r: 0 } })).toBe(
      'the adapter of "run 7": rank must be a positive integer, got 0',
    );
    // a rank that disagrees with the tensors (A is [4, 16])
    expect(fails({ ...good, config: { ...good.config, r: 3 } })).toMatch(
      /^the adapter of "run 7": tensor "0\.\w+\.lora_A" is \[4,16\], the model needs \[3,16\]/,
    );
    const key = Object.keys(good.tensors)[0];
    const nan = { ...good.tensors[key], B: good.tensors[key].B.slice() };
    nan.B[5] = NaN;
    expect(fails({ ...good, tensors: { ...good.tensors, [key]: nan } })).toBe(
      `the adapter of "run 7": tensor "${key}.lora_B" has NaN at index 5 (a diverged training run?)`,
    );
    const short = { ...good.tensors[key], A: good.tensors[key].A.subarray(1) };
    expect(fails({ ...good, tensors: { ...good.tensors, [key]: short } })).toMatch(
      /holds 63 values for shape \[4,16\]/,
    );
    for (const m of [
      fails({ ...good, config: { ...good.config, alpha: -1 } }),
      fails({ ...good, tensors: { ...good.tensors, [key]: nan } }),
    ])
      expect(m).not.toContain('\n');
    disposeWeights(a.weights);
  });
});

describe('model specs', () => {
  it('names and keys specs; the same folder picked twice has one key', () => {
    const blob = (n: number) => new Blob([new Uint8Array(n)]);
    const f1: ModelSpec = {
      kind: 'hf',
      hf: {
        kind: 'files',
        name: 'tiny',
        files: [
          { name: 'tiny/config.json', blob: blob(3) },
          { name: 'tiny/model.safetensors', blob: blob(10) },
        ],
      },
    };
    const f2: ModelSpec = {
      kind: 'hf',
      hf: {
        kind: 'files',
        name: 'tiny',
        files: [
          { name: 'tiny/model.safetensors', blob: blob(10) },
          { name: 'tiny/config.json', blob: blob(3) },
        ],
      },
    };
    expect(specName({ kind: 'embedded' })).toBe('stories260K');
    expect(specName(f1)).toBe('tiny');
    expect(specKey(f1)).toBe(specKey(f2));
    expect(specKey(f1)).not.toBe(specKey({ kind: 'embedded' }));
  });
});

describe('describeWorkerError', () => {
  it('reads an ErrorEvent-like object: message and file:line, never [object ErrorEvent]', () => {
    const ev = {
      type: 'error',
      message: 'Uncaught ReferenceError: e is not defined',
      filename: 'http://h/assets/eval.worker-abc.js',
      lineno: 1,
      colno: 2345,
    };
    expect(describeWorkerError(ev, 'evaluation worker')).toBe(
      'evaluation worker crashed: ReferenceError: e is not defined (eval.worker-abc.js:1:2345)',
    );
  });
  it("points at the nested worker when Emscripten rethrew a wasm thread's ErrorEvent", () => {
    expect(describeWorkerError({ type: 'error', message: 'Uncaught [object ErrorEvent]' }, 'training worker')).toBe(
      'training worker crashed: a nested worker (wasm thread) failed; its message is in the error reported just before',
    );
  });
  it('says the script failed when the event has no message', () => {
    const s = describeWorkerError({ type: 'error' }, 'training worker');
    expect(s).toContain('training worker crashed: training worker script failed to load');
    expect(s).not.toContain('[object');
  });
});

describe('memory guard in the workers', () => {
  const stories = defaultConfig({
    dim: 64,
    nLayers: 5,
    nHeads: 8,
    nKvHeads: 4,
    vocabSize: 512,
    hiddenDim: 172,
    maxSeqLen: 512,
  }); // stories260K's shape

  it('sizes a run from the objective its own layout (CLO 4 sequences per row, SFT 1), with checkpointing and backend', () => {
    const clo = runShape(stories, { train: defaultTrainConfig('clo', { batchSize: 3, checkpointing: true }) }, 'wasm');
    expect(clo.batchSize).toBe(3 * getObjective('clo').layout.length);
    expect(clo.batchSize).toBe(12);
    expect(clo).toMatchObject({ training: true, checkpointing: true, backend: 'wasm' });
    expect(runShape(stories, { train: defaultTrainConfig('sft', { batchSize: 3 }) }, 'cpu').batchSize).toBe(3);
    expect(runShape(stories, { batchSize: 2, seqLen: 10_000 }, 'cpu')).toMatchObject({
      batchSize: 2,
      seqLen: stories.maxSeqLen,
      training: false,
    });
  });

  it('refuses before allocating a run the library guard rejects, and lets a small one through', () => {
    const big = SMOLLM2_135M; // 30 layers, dim 576, vocab 49,152
    const huge = defaultTrainConfig('clo', { batchSize: 16, maxSeqLen: 1024 });
    expect(() => guardMemory(big, { train: huge })).toThrow(MemoryRefusal);
    expect(() => guardMemory(big, { train: huge })).toThrow(/batch|sequence|checkpoint/i);
    expect(() => guardMemory(stories, { train: defaultTrainConfig('clo', { batchSize: 2 }) })).not.toThrow();
  });
});
