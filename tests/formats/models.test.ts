import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { forward } from '../../src/lib/model/forward';
import type { ModelConfig } from '../../src/lib/model/config';
import type { ModelWeights } from '../../src/lib/model/weights';
import { disposeWeights } from '../../src/lib/model/weights';
import { loadHfModel } from '../../src/lib/formats/hf-load';
import { memorySource } from '../../src/lib/formats/file-source';
import { hfConfigToModelConfig } from '../../src/lib/formats/hf-config';
import { hfFixture, hfConfigJson, tinyConfig } from '../helpers/hf-fixtures';
import { PackedWeight, packFrozenBase } from '../../src/lib/model/packed-base';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const IDS = [
  [0, 5, 3, 7, 2, 9, 11, 30],
  [0, 12, 13, 14, 15, 16, 17, 39],
];

function logits(config: ModelConfig, weights: ModelWeights): Float32Array {
  return tf.tidy(() => forward({ config, weights }, tf.tensor2d(IDS, [2, 8], 'int32')).dataSync() as Float32Array);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('HF config.json → ModelConfig', () => {
  it('maps each architecture field by field', () => {
    const llama = hfConfigToModelConfig(hfConfigJson(tinyConfig('llama')));
    expect(llama).toMatchObject({
      arch: 'llama',
      dim: 16,
      hiddenDim: 24,
      nLayers: 2,
      nHeads: 4,
      nKvHeads: 2,
      headDim: 4,
      vocabSize: 40,
      maxSeqLen: 64,
      normEps: 1e-5,
      norm: 'rms',
      position: 'rope',
      ropeStyle: 'half',
      mlp: 'swiglu',
      tiedEmbeddings: false,
      bias: { qkv: false, o: false, mlp: false },
      bosId: 0,
      eosId: 1,
    });
    const qwen = hfConfigToModelConfig(hfConfigJson(tinyConfig('qwen2')));
    expect(qwen).toMatchObject({
      arch: 'qwen2',
      ropeTheta: 1e6,
      normEps: 1e-6,
      tiedEmbeddings: true,
      bias: { qkv: true, o: false, mlp: false },
      eosId: 1,
    });
    const gpt2 = hfConfigToModelConfig(hfConfigJson(tinyConfig('gpt2')));
    expect(gpt2).toMatchObject({
      arch: 'gpt2',
      dim: 16,
      hiddenDim: 64,
      nHeads: 2,
      nKvHeads: 2,
      headDim: 8,
      maxSeqLen: 32,
      norm: 'layer',
      position: 'learned',
      mlp: 'gelu',
      tiedEmbeddings: true,
      bias: { qkv: true, o: true, mlp: true },
    });
    expect(
      hfConfigToModelConfig({
        architectures: ['MistralForCausalLM'],
        hidden_size: 8,
        intermediate_size: 16,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        vocab_size: 10,
        sliding_window: 4096,
      }),
    ).toMatchObject({ arch: 'mistral', nKvHeads: 2, headDim: 4 });
  });
  it('refuses unknown architectures and unsupported settings with one line', () => {
    expect(() => hfConfigToModelConfig({ architectures: ['BertForMaskedLM'] }, 'm/config.json')).toThrow(
      'm/config.json: unsupported architectures ["BertForMaskedLM"]; supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, GPT2LMHeadModel',
    );
    expect(() =>
      hfConfigToModelConfig({ ...hfConfigJson(tinyConfig('llama')), rope_scaling: { rope_type: 'llama3', factor: 8 } }),
    ).toThrow(/rope_scaling "llama3" is not supported/);
    expect(() => hfConfigToModelConfig({ ...hfConfigJson(tinyConfig('llama')), hidden_size: undefined })).toThrow(
      'config.json: missing "hidden_size"',
    );
  });
});

describe('HF safetensors folders → same logits as the weights loaded directly', () => {
  const cases: [string, 'llama' | 'qwen2' | 'gpt2', 'F32' | 'F16' | 'BF16', number][] = [
    ['Llama, F32, untied lm_head, GQA', 'llama', 'F32', 1],
    ['Llama, BF16, sharded (3 files + index)', 'llama', 'BF16', 3],
    ['Qwen2, q/k/v biases, BF16, sharded (2 files + index)', 'qwen2', 'BF16', 2],
    ['Qwen2, F16', 'qwen2', 'F16', 1],
    ['GPT-2, F16, Conv1D transposed and c_attn split', 'gpt2', 'F16', 1],
    ['GPT-2, F32, sharded', 'gpt2', 'F32', 2],
  ];
  for (const [title, arch, dtype, shards] of cases) {
    it(title, async () => {
      const fx = hfFixture(arch, dtype, shards);
      // put the folder under a sub-directory, as a browser folder pick delivers it
      const files = Object.fromEntries(Object.entries(fx.files).map(([k, v]) => [`picked/${k}`, v]));
      const m = await loadHfModel(memorySource(files, 'mem'), `tiny-${arch}`);
      expect(m.config.arch).toBe(arch);
      expect(m.config.tiedEmbeddings).toBe(fx.config.tiedEmbeddings);
      const want = logits(fx.config, fx.weights);
      const got = logits(m.config, m.weights);
      expect(maxAbsDiff(want, got)).toBeLessThan(1e-5);
      // sanity: a different model gives different logits (the comparison can fail)
      const other = hfFixture(arch, dtype, 1, 99);
      expect(maxAbsDiff(want, logits(other.config, other.weights))).toBeGreaterThan(1e-2);
      disposeWeights(other.weights);
      disposeWeights(fx.weights);
      disposeWeights(m.weights);
    });
  }

  it('a packed base is packed while loading: no f32 block matrix is ever a tensor, same numbers as packing after', async () => {
    const fx = hfFixture('qwen2', 'BF16', 2);
    for (const base of ['int8', 'f16'] as const) {
      const before = tf.memory().numBytes;
      // tensor bytes held while loading, sampled as each tensor is read (tf.profile sees kernels only)
      let peak = 0;
      const loaded = await loadHfModel(memorySource(fx.files, 'mem'), 'packed', {
        base,
        onTensor: () => (peak = Math.max(peak, tf.memory().numBytes - before)),
      });
      const kept = tf.memory().numBytes - before;
      for (const l of loaded.weights.layers)
        for (const lin of Object.values(l.linears)) expect(lin!.w).toBeInstanceOf(PackedWeight);
      // never more than what stays (packed matrices, f32 embedding and norms): loading f32 and packing
      // afterwards held every f32 block matrix at once
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(kept);
      // the same numbers as loading f32 and packing afterwards
      const after = await loadHfModel(memorySource(fx.files, 'mem'), 'after');
      packFrozenBase(after, base);
      expect(maxAbsDiff(logits(after.config, after.weights), logits(loaded.config, loaded.weights))).toBe(0);
      disposeWeights(after.weights);
      disposeWeights(loaded.weights);
    }
    disposeWeights(fx.weights);
  });

  it('reads the tokenizer as its config says (BOS, EOS, chat template)', async () => {
    const llama = await loadHfModel(memorySource(hfFixture('llama', 'F32').files), 'l');
    expect(llama.tokenizer.bosId).toBe(0);
    expect(llama.tokenizer.eosId).toBe(1);
    expect(llama.tokenizer.encode('abc')).toEqual([0, 2, 3, 4]);
    expect(llama.tokenizer.encode('abc', { bos: false })).toEqual([2, 3, 4]);
    expect(llama.tokenizer.decode([0, 2, 3, 4, 1])).toBe('abc');
    expect(llama.tokenizer.chatTemplate).toContain('for m in messages');
    const gpt2 = await loadHfModel(memorySource(hfFixture('gpt2', 'F32').files), 'g');
    expect(gpt2.tokenizer.bosId).toBeNull(); // add_bos_token false
    expect(gpt2.tokenizer.encode('ba')).toEqual([3, 2]);
  });

  it('names the missing tensor and the shape mismatch', async () => {
    const fx = hfFixture('llama', 'F32');
    const { readSafetensors, writeSafetensors } = await import('../../src/lib/formats/safetensors');
    const { tensors } = await readSafetensors(fx.files['model.safetensors'] as Uint8Array);
    const drop = new Map(
      [...tensors]
        .filter(([n]) => n !== 'model.layers.1.mlp.up_proj.weight')
        .map(([n, t]) => [n, { shape: t.shape, data: t.data as Float32Array }]),
    );
    await expect(
      loadHfModel(memorySource({ ...fx.files, 'model.safetensors': writeSafetensors(drop) }, 'mem'), 'x'),
    ).rejects.toThrow('mem: missing tensor "model.layers.1.mlp.up_proj.weight"');
    const bad = new Map(drop);
    bad.set('model.layers.1.mlp.up_proj.weight', { shape: [16, 24], data: new Float32Array(16 * 24) });
    await expect(
      loadHfModel(memorySource({ ...fx.files, 'model.safetensors': writeSafetensors(bad) }, 'mem'), 'x'),
    ).rejects.toThrow('mem: tensor "model.layers.1.mlp.up_proj.weight" has shape [16, 24], expected [24, 16]');
    await expect(
      loadHfModel(
        memorySource(
          {
            'config.json': fx.files['config.json'],
            'tokenizer.json': fx.files['tokenizer.json'],
            'pytorch_model.bin': 'x',
          },
          'mem',
        ),
        'x',
      ),
    ).rejects.toThrow(/only PyTorch \.bin\/\.pt weights found/);
    disposeWeights(fx.weights);
  });
});

describe('UI file picks (Blob source, as the worker receives them)', () => {
  it('checks a pick and loads it from Blobs', async () => {
    const { checkPickedFiles, loadHfSpec } = await import('../../src/lib/formats/hf-spec');
    const fx = hfFixture('gpt2', 'BF16', 2);
    const files = Object.entries(fx.files).map(([n, v]) => ({
      name: `gpt2-tiny/${n}`,
      blob: new Blob([typeof v === 'string' ? v : new Uint8Array(v)]),
    }));
    expect(checkPickedFiles(files).ok).toBe(true);
    expect(checkPickedFiles(files.filter((f) => !f.name.endsWith('tokenizer.json'))).message).toBe(
      'The selection lacks tokenizer.json.',
    );
    expect(
      checkPickedFiles([
        { name: 'm/config.json', blob: new Blob(['{}']) },
        { name: 'm/pytorch_model.bin', blob: new Blob(['x']) },
      ]).message,
    ).toBe('The selection lacks tokenizer.json, *.safetensors (PyTorch .bin is not supported).');
    const m = await loadHfSpec({ kind: 'files', name: 'gpt2-tiny', files });
    expect(maxAbsDiff(logits(fx.config, fx.weights), logits(m.config, m.weights))).toBeLessThan(1e-5);
    disposeWeights(m.weights);
    disposeWeights(fx.weights);
  });
});
