/**
 * The CLI under bad input, in-process: strict flags (ranges declared with each flag, strict numbers and booleans,
 * prototype names, duplicates, clamps said and returned), safe writes (checked before work, never over
 * an input, temp + rename, no empty replacement, --overwrite), the translation cache's folder and
 * flush errors, the non-finite stop in training, NaN/Inf/F16-range refusal when writing safetensors,
 * adapter validation and Hugging Face config/layer checks; the CLI's non-finite stop keeps the last finite
 * checkpoint; a large data file reaches step 1 under a small heap.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UsageError, clampFlag, parseArgs, type Spec } from '../../cli/args';
import { atomicWriteFile, atomicWriteFiles, checkOutDir, checkOutFile, lockOutDir } from '../../cli/safe-write';
import { JsonFileStore } from '../../cli/json-file-store';
import { writeSafetensors, SafetensorsReader } from '../../src/lib/formats/safetensors';
import { validateAdapter, validateAdapterConfig } from '../../src/lib/lora/validate-adapter';
import { checkConfigRanges, hfConfigToModelConfig } from '../../src/lib/formats/hf-config';
import { checkLayerCount, hfTensorsToWeights, shardedSource } from '../../src/lib/formats/hf-weights';
import { parseLlama2c } from '../../src/lib/formats/llama2c';
import { hfFixture } from '../helpers/hf-fixtures';
import { STORIES_DIR } from '../helpers/helpers';
import { Trainer, nonFiniteMessage } from '../../src/lib/train/trainer';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import { loadStories } from '../helpers/helpers';
import { createWriteStream } from 'node:fs';
import { decodeCheckpoint } from '../../src/lib/formats/checkpoint';
import { fromPeft } from '../../src/lib/formats/peft';
import { runLab } from '../fuzz/sweep-lib';

const dir = mkdtempSync(join(tmpdir(), 'clo-robust-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SPEC: Spec = {
  steps: { type: 'number', help: '', default: 5, int: true, min: 1 },
  lr: { type: 'number', help: '', gt: 0, max: 1 },
  'top-p': { type: 'number', help: '', gt: 0, max: 1 },
  temperature: { type: 'number', help: '', min: 0 },
  dropout: { type: 'number', help: '', min: 0, lt: 1 },
  name: { type: 'string', help: '' },
  json: { type: 'boolean', help: '' },
};
const parse = (...argv: string[]) => parseArgs(argv, SPEC, 'cmd');

describe('flag parsing', () => {
  it('refuses numbers that are not plain decimals', () => {
    for (const v of ['0x2', '1e', 'abc', 'Infinity', '', ' ', '1_0', '0b1', '2n', '--1']) {
      expect(() => parse('--steps', v), v).toThrow(UsageError);
    }
    expect(parse('--steps', '2').steps).toBe(2);
    expect(parse('--lr=1e-3').lr).toBe(0.001);
    expect(parse('--lr', '.5').lr).toBe(0.5);
  });

  it('applies the ranges declared with each flag', () => {
    expect(() => parse('--lr', '0')).toThrow('cmd: flag --lr must be a number > 0 and <= 1, got 0');
    expect(() => parse('--lr', '-1')).toThrow(UsageError);
    expect(() => parse('--lr', '1e30')).toThrow(UsageError);
    expect(() => parse('--top-p', '2')).toThrow('--top-p must be a number > 0 and <= 1, got 2');
    expect(() => parse('--temperature', '-1')).toThrow('--temperature must be a number >= 0, got -1');
    expect(() => parse('--dropout', '1')).toThrow('< 1');
    expect(() => parse('--steps', '0')).toThrow('--steps must be an integer >= 1, got 0');
    expect(() => parse('--steps', '2.5')).toThrow('integer');
    expect(parse('--dropout', '0').dropout).toBe(0);
  });

  it('reads booleans strictly', () => {
    expect(parse('--json').json).toBe(true);
    expect(parse('--json=no').json).toBe(false);
    expect(parse('--json=false').json).toBe(false);
    expect(parse('--json=0').json).toBe(false);
    expect(parse('--json=yes').json).toBe(true);
    expect(() => parse('--json=maybe')).toThrow('cmd: flag --json is a switch');
  });

  it('refuses prototype names and flags given twice', () => {
    for (const f of ['__proto__', 'toString', 'constructor', 'hasOwnProperty', 'valueOf']) {
      expect(() => parse(`--${f}`, 'x'), f).toThrow(`cmd: unknown flag --${f}`);
    }
    expect(() => parse('--steps', '2', '--steps', '3')).toThrow('cmd: flag --steps given more than once');
    expect(() => parse('--name=a', '--name', 'b')).toThrow('given more than once');
  });

  it('says a clamp on stderr and returns the value used', () => {
    const lines: string[] = [];
    expect(clampFlag('train', 'max-seq-len', 100000, 2, 512, 'model context', (s) => lines.push(s))).toBe(512);
    expect(lines).toEqual(['train: --max-seq-len 100000 lowered to 512 (model context)']);
    expect(clampFlag('train', 'max-seq-len', 128, 2, 512, 'x', (s) => lines.push(s))).toBe(128);
    expect(lines.length).toBe(1);
  });
});

describe('safe writes', () => {
  it('taking an output folder removes the temporary files of writers no longer running, not those of running ones', () => {
    const out = join(dir, 'locked');
    mkdirSync(join(out, 'sub'), { recursive: true });
    // pid 2^22 + 1 is above Linux's largest pid: no such process
    const dead = ['.config.json.4194305-abc123.partial', 'sub/.model.safetensors.4194305-x1y2z3.partial'];
    const live = `.vocab.json.${process.ppid}-qqq111.partial`;
    for (const f of [...dead, live, 'config.json']) writeFileSync(join(out, f), 'x');
    const unlock = lockOutDir(out, 'test');
    try {
      for (const f of dead) expect(existsSync(join(out, f))).toBe(false);
      expect(existsSync(join(out, live))).toBe(true);
      expect(existsSync(join(out, 'config.json'))).toBe(true);
    } finally {
      unlock();
    }
  });

  it('checks output files before any work: never an input, never /proc, never empty', () => {
    const data = join(dir, 'd.jsonl');
    writeFileSync(data, '{"a":1}\n');
    expect(() => checkOutFile('build-pairs', 'out', data, [{ flag: 'data', path: data }])).toThrow(
      'would write over the input given as --data',
    );
    expect(() => checkOutFile('build-pairs', 'out', join(dir, '.', 'd.jsonl'), [{ flag: 'data', path: data }])).toThrow(
      UsageError,
    );
    expect(() => checkOutFile('build-pairs', 'out', '/proc/x', [])).toThrow('is inside /proc');
    expect(() => checkOutDir('train', 'out', '/', [], { ownFiles: [] })).toThrow('is the root of the file system');
    expect(() => checkOutFile('build-pairs', 'out', '', [])).toThrow('needs a path');
    expect(() => checkOutFile('build-pairs', 'out', join(data, 'sub.jsonl'), [])).toThrow('is a file');
    expect(
      checkOutFile('build-pairs', 'out', join(dir, 'new', 'deep', 'o.jsonl'), [{ flag: 'data', path: data }]),
    ).toBe(join(dir, 'new', 'deep', 'o.jsonl'));
    expect(existsSync(join(dir, 'new'))).toBe(false);
  });

  it('checks output folders: not the model folder, no earlier run without --overwrite', () => {
    const model = join(dir, 'model');
    mkdirSync(model);
    writeFileSync(join(model, 'config.json'), '{}');
    const own = ['config.json', 'model.safetensors', 'run.json', 'adapter_config.json'];
    expect(() => checkOutDir('export', 'out', model, [{ flag: 'model', path: model }], { ownFiles: own })).toThrow(
      'would write over the input given as --model',
    );
    expect(() =>
      checkOutDir('export', 'out', model, [{ flag: 'model', path: model }], { ownFiles: own, overwrite: true }),
    ).toThrow('--model');
    const run = join(dir, 'run');
    mkdirSync(run);
    writeFileSync(join(run, 'run.json'), '{}');
    expect(() => checkOutDir('train', 'out', run, [], { ownFiles: own })).toThrow(
      'already holds run.json; pass --overwrite',
    );
    expect(checkOutDir('train', 'out', run, [], { ownFiles: own, overwrite: true })).toBe(run);
    const data = join(run, 'adapter_config.json');
    writeFileSync(data, '{}');
    expect(() =>
      checkOutDir('export', 'out', run, [{ flag: 'adapter', path: run }], { ownFiles: own, overwrite: true }),
    ).toThrow('--adapter');
  });

  it('never replaces a non-empty file with an empty one, and leaves no temp files', () => {
    const f = join(dir, 'keep.jsonl');
    writeFileSync(f, 'precious\n');
    expect(() => atomicWriteFile(f, '')).toThrow('not replaced by an empty result');
    expect(readFileSync(f, 'utf8')).toBe('precious\n');
    atomicWriteFile(f, 'new\n');
    expect(readFileSync(f, 'utf8')).toBe('new\n');
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('a folder write that fails midway leaves the earlier files untouched', () => {
    const out = join(dir, 'adapter');
    mkdirSync(out);
    writeFileSync(join(out, 'adapter_config.json'), 'old config');
    writeFileSync(join(out, 'adapter_model.safetensors'), 'old weights');
    writeFileSync(join(out, 'blocker'), 'a file where a folder is needed');
    expect(() =>
      atomicWriteFiles(out, [
        ['adapter_config.json', 'new config'],
        ['adapter_model.safetensors', new Uint8Array(10)],
        ['blocker/run.json', '{}'],
      ]),
    ).toThrow('nothing in the folder was replaced');
    expect(readFileSync(join(out, 'adapter_config.json'), 'utf8')).toBe('old config');
    expect(readFileSync(join(out, 'adapter_model.safetensors'), 'utf8')).toBe('old weights');
    expect(readdirSync(out).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'blocker']);
    expect(atomicWriteFiles(out, [['adapter_config.json', 'new config']])).toEqual(['adapter_config.json']);
    expect(readFileSync(join(out, 'adapter_config.json'), 'utf8')).toBe('new config');
  });
});

describe('translation cache file', () => {
  it('creates its folder on flush', async () => {
    const f = join(dir, 'not', 'yet', 'cache.json');
    const s = JsonFileStore.open(f, 60_000);
    await s.set('k', 'v');
    expect(s.flush()).toBe(true);
    expect(JSON.parse(readFileSync(f, 'utf8'))).toEqual({ k: 'v' });
  });

  it('reports a failed flush (also from its timer) instead of throwing, and keeps the entries', async () => {
    const blocker = join(dir, 'iam-a-file');
    writeFileSync(blocker, 'x');
    const errors: string[] = [];
    const s = JsonFileStore.open(join(blocker, 'cache.json'), 5, (m) => errors.push(m));
    await s.set('a', 1);
    await new Promise((r) => setTimeout(r, 40)); // the timer's flush fails: reported, not thrown
    expect(errors.length).toBe(1);
    expect(errors[0]).toMatch(/cache\.json not saved \([A-Z]+\); 1 entries kept in memory/);
    expect(await s.get('a')).toBe(1);
    expect(s.flush()).toBe(false);
    expect(errors.length).toBe(2);
  });
});

describe('nothing NaN or Inf is written', () => {
  const t = (data: number[], dtype?: 'F32' | 'F16' | 'BF16') => ({
    shape: [data.length],
    data: Float32Array.from(data),
    dtype,
  });
  it('refuses NaN / Inf in any float type, naming the tensor', () => {
    expect(() => writeSafetensors({ 'layers.0.lora_A': t([1, NaN]) })).toThrow(
      'tensor "layers.0.lora_A": value NaN at index 1',
    );
    expect(() => writeSafetensors({ w: t([Infinity]) })).toThrow('tensor "w": value Infinity');
    expect(() => writeSafetensors({ w: t([-Infinity], 'BF16') })).toThrow('tensor "w"');
  });
  it('refuses values outside the F16 range, accepts them in BF16 and F32', async () => {
    expect(() => writeSafetensors({ big: t([1, 70000], 'F16') })).toThrow(
      'tensor "big": value 70000 at index 1 is outside the F16 range (±65504)',
    );
    expect(() => writeSafetensors({ big: t([-65505], 'F16') })).toThrow('F16 range');
    const ok = writeSafetensors({ big: t([65504, -65504], 'F16') });
    const r = await SafetensorsReader.open(ok, 'x');
    expect(Array.from((await r.readFloat('big')).data)).toEqual([65504, -65504]);
    expect(() => writeSafetensors({ big: t([70000], 'BF16') })).not.toThrow();
    expect(() => writeSafetensors({ big: t([3.4e38], 'BF16') })).toThrow('BF16 range');
  });
});

describe('training stops at the first non-finite loss or gradient', () => {
  it('names the step and the likely cause', () => {
    expect(nonFiniteMessage(3, 1.2, 0.5, 1e-3, { objective: 'sft', beta: 0.1, lr: 1e-3 })).toBeNull();
    const m = nonFiniteMessage(7, NaN, 1, 0.5, { objective: 'dpo', beta: 50, lr: 0.5 })!;
    expect(m).toContain('training stopped at step 7: loss is NaN');
    expect(m).toContain('learning rate too high (peak 0.5');
    expect(m).toContain('β (50) too large');
    expect(nonFiniteMessage(2, 1, Infinity, 1, { objective: 'sft', beta: 0.1, lr: 1 })).toContain(
      'gradient norm is Infinity',
    );
  });

  it('a diverging run throws at the bad step, before that step is applied', async () => {
    tf.setBackend('cpu');
    const model = loadStories();
    const rows = Array.from({ length: 4 }, (_, i) => ({
      kind: 'sft' as const,
      prompt: `Once upon a time ${i}`,
      response: ' there was a dog.',
    }));
    // an infinite learning rate: step 1's update makes the adapter non-finite, step 2 must stop
    const cfg = defaultTrainConfig('sft', {
      steps: 20,
      batchSize: 2,
      lr: Infinity,
      maxSeqLen: 32,
      lora: { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'], init: 'gaussian' },
    });
    const trainer = Trainer.create(model, rows as never, cfg);
    let err: Error | null = null;
    // counted after step 1, which sets up all the optimizer holds between steps
    await trainer.step();
    const before = tf.memory().numTensors;
    try {
      while (!trainer.done) await trainer.step();
    } catch (e) {
      err = e as Error;
    }
    expect(err?.name).toBe('NonFiniteError');
    expect(err?.message).toMatch(/^training stopped at step 2: .*likely cause: learning rate too high/);
    expect(trainer.stepIndex).toBe(1);
    expect(trainer.metrics.length).toBe(1);
    expect(tf.memory().numTensors).toBe(before); // nothing leaked by the early exit
    trainer.dispose();
  }, 60_000);
});

describe('adapter validation', () => {
  const model = { config: loadStoriesConfig(), source: 'stories260K', name: 'stories260K' };
  function loadStoriesConfig() {
    const m = loadStories();
    return m.config;
  }
  const snap = (r: number, alpha: number, aShape: [number, number], bShape: [number, number], fill = 0.1) => ({
    config: { r, alpha, dropout: 0, targets: ['q_proj' as const], init: 'gaussian' as const },
    tensors: {
      '0.q_proj': {
        A: new Float32Array(aShape[0] * aShape[1]).fill(fill),
        B: new Float32Array(bShape[0] * bShape[1]).fill(fill),
        aShape,
        bShape,
      },
    },
  });
  it('refuses zero, negative and non-numeric alpha and rank in adapter_config.json', () => {
    expect(() => validateAdapterConfig({ r: 4, lora_alpha: 0 }, 'a/adapter_config.json')).toThrow(
      'a/adapter_config.json: lora_alpha must be a positive number, got 0',
    );
    expect(() => validateAdapterConfig({ r: 4, lora_alpha: 'abc' }, 'f')).toThrow(
      'lora_alpha must be a positive number, got "abc"',
    );
    expect(() => validateAdapterConfig({ r: 0, lora_alpha: 8 }, 'f')).toThrow('r must be a positive integer');
    expect(() => validateAdapterConfig({ r: 4, alpha_pattern: { q_proj: -1 } }, 'f')).toThrow(
      'alpha_pattern["q_proj"]',
    );
    expect(() => validateAdapterConfig({ r: 4, lora_alpha: 8, target_modules: ['q_proj'] }, 'f')).not.toThrow();
  });
  it("refuses shapes that are not the model's, naming the file and tensor", () => {
    // stories260K: dim 64, 8 heads of 8 → q_proj is [64 → 64]
    expect(validateAdapter(snap(2, 4, [2, 64], [64, 2]), model, 'w.safetensors')).toEqual([]);
    expect(() => validateAdapter(snap(2, 4, [2, 48], [64, 2]), model, 'w.safetensors')).toThrow(
      'w.safetensors: tensor "0.q_proj.lora_A" is [2,48], the model needs [2,64]',
    );
    expect(() => validateAdapter(snap(2, 4, [2, 64], [32, 2]), model, 'w.safetensors')).toThrow(
      'tensor "0.q_proj.lora_B" is [32,2], the model needs [64,2]',
    );
    const past = snap(2, 4, [2, 64], [64, 2]);
    (past.tensors as Record<string, unknown>)['9.q_proj'] = past.tensors['0.q_proj'];
    expect(() => validateAdapter(past, model, 'w')).toThrow('tensor "9.q_proj" is for layer 9, the model has 5 layers');
  });
  it('refuses alpha 0 and NaN weights, warns about another base model, checks target modules', () => {
    expect(() => validateAdapter(snap(2, 0, [2, 64], [64, 2]), model, 'w')).toThrow(
      'w: alpha must be a positive finite number, got 0',
    );
    expect(() => validateAdapter(snap(2, 4, [2, 64], [64, 2], NaN), model, 'w')).toThrow(
      'tensor "0.q_proj.lora_A" has NaN at index 0',
    );
    expect(
      validateAdapter(snap(2, 4, [2, 64], [64, 2]), model, 'w', { base_model_name_or_path: '/x/stories260K.bin' }),
    ).toEqual([]);
    expect(
      validateAdapter(snap(2, 4, [2, 64], [64, 2]), model, 'w', { base_model_name_or_path: 'Qwen/Qwen2-0.5B' }),
    ).toEqual(['w: adapter was trained on "Qwen/Qwen2-0.5B", it is being applied to "stories260K"']);
    expect(() =>
      validateAdapter(snap(2, 4, [2, 64], [64, 2]), model, 'w', { target_modules: ['q_proj', 'qq_proj'] }),
    ).toThrow('target_modules ["qq_proj"] name no linear layer');
  });
});

describe('model config checks', () => {
  const llama = {
    architectures: ['LlamaForCausalLM'],
    hidden_size: 16,
    intermediate_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    vocab_size: 10,
    max_position_embeddings: 64,
  };
  it('refuses zero layers, zero positions and rope_theta 0', () => {
    expect(hfConfigToModelConfig(llama).nLayers).toBe(2);
    expect(() => hfConfigToModelConfig({ ...llama, num_hidden_layers: 0 }, 'm/config.json')).toThrow(
      'm/config.json: layer count (nLayers) is 0, expected a positive integer',
    );
    expect(() => hfConfigToModelConfig({ ...llama, max_position_embeddings: 0 })).toThrow(
      'max positions (maxSeqLen) is 0',
    );
    expect(() => hfConfigToModelConfig({ ...llama, rope_theta: 0 })).toThrow('rope_theta is 0');
    expect(() => hfConfigToModelConfig({ ...llama, num_hidden_layers: 2.5 })).toThrow('positive integer');
    expect(() => checkConfigRanges({ ...hfConfigToModelConfig(llama), normEps: 0 })).toThrow('norm epsilon is 0');
  });
  it('refuses a config whose layer count differs from the tensors', () => {
    const names = (n: number) =>
      Array.from({ length: n }, (_, i) => `model.layers.${i}.input_layernorm.weight`).concat([
        'model.embed_tokens.weight',
      ]);
    const src = (n: number) => ({
      has: () => true,
      names: () => names(n),
      shape: () => [],
      readFloat: async () => ({ shape: [], data: new Float32Array() }),
    });
    const c = hfConfigToModelConfig({ ...llama, num_hidden_layers: 3 });
    expect(() => checkLayerCount(src(5), c, 'm')).toThrow(
      'm: config.json num_hidden_layers is 3 but the tensors hold 5',
    );
    expect(() => checkLayerCount(src(2), c, 'm')).toThrow('tensors hold 2');
    expect(() => checkLayerCount(src(3), c, 'm')).not.toThrow();
  });
});

describe('model weights are checked for NaN / Inf on load', () => {
  it('llama2.c: names the part', () => {
    const bin = Buffer.from(readFileSync(join(STORIES_DIR, 'stories260K.bin')));
    // header 28 bytes; token_embedding 512×64, rms_att 5×64, then wq
    bin.writeFloatLE(NaN, 28 + 4 * (512 * 64 + 5 * 64) + 8);
    expect(() => parseLlama2c(new Uint8Array(bin), 'x.bin')).toThrow('x.bin: wq has NaN at index 2');
  });
  it('Hugging Face: names the tensor', async () => {
    const fx = hfFixture('llama', 'F32');
    const st = Buffer.from(fx.files['model.safetensors'] as Uint8Array);
    const n = Number(st.readBigUInt64LE(0));
    const header = JSON.parse(st.subarray(8, 8 + n).toString('utf8')) as Record<
      string,
      { data_offsets: [number, number] }
    >;
    st.writeFloatLE(Infinity, 8 + n + header['model.norm.weight'].data_offsets[0] + 4);
    const src = shardedSource([await SafetensorsReader.open(new Uint8Array(st), 'model.safetensors')]);
    await expect(hfTensorsToWeights(src, fx.config, 'm')).rejects.toThrow(
      'm: tensor "model.norm.weight" has Infinity at index 1',
    );
  });
});

describe('train (CLI): the non-finite stop keeps the last finite checkpoint', () => {
  it('saves step 1 when step 2 goes non-finite, says where, and everything written is finite', async () => {
    const data = join(dir, 'nf.jsonl');
    writeFileSync(
      data,
      ['Once upon a time', 'The dog', 'Lily saw', 'Tom said']
        .map((p) => JSON.stringify({ prompt: p, response: ' there was a cat.' }))
        .join('\n') + '\n',
    );
    const out = join(dir, 'nf-run');
    // lr 1 and alpha 1e6 (scale 125000): step 1 is finite (B starts at zero), its update blows step 2 up
    const res = await runLab(
      [
        'train',
        '--objective',
        'sft',
        '--data',
        data,
        '--steps',
        '6',
        '--batch-size',
        '2',
        '--max-seq-len',
        '32',
        '--lr',
        '1',
        '--lora-alpha',
        '1000000',
        '--checkpoint-every',
        '4',
        '--backend',
        'cpu',
        '--out',
        out,
      ],
      120_000,
    );
    expect(res.code, res.stderr).toBe(1);
    expect(res.stderr).toMatch(/^error: training stopped at step 2: .*likely cause: learning rate too high/m);
    expect(res.stderr).toContain(`the last finite state (step 1) is saved in ${out}`);
    expect(readdirSync(out).sort()).toEqual([
      'adapter_config.json',
      'adapter_model.safetensors',
      'checkpoint.safetensors',
    ]);
    const ck = await decodeCheckpoint(new Uint8Array(readFileSync(join(out, 'checkpoint.safetensors'))));
    expect(ck.checkpoint.step).toBe(1);
    expect(ck.checkpoint.metrics.map((m) => m.step)).toEqual([1]);
    for (const t of Object.values(ck.checkpoint.lora.tensors)) {
      expect(t.A.every(Number.isFinite)).toBe(true);
      expect(t.B.every(Number.isFinite)).toBe(true);
    }
    const peft = await fromPeft(
      JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')),
      new Uint8Array(readFileSync(join(out, 'adapter_model.safetensors'))),
      loadStories().config,
    );
    for (const t of Object.values(peft.tensors)) expect([...t.A, ...t.B].every(Number.isFinite)).toBe(true);
  }, 180_000);
});

describe('train (CLI): a large data file starts promptly with bounded memory', () => {
  it('a 64 MB JSONL reaches step 1 and exits 0 with --steps 1 under a 384 MB heap', async () => {
    const data = join(dir, 'big.jsonl');
    const w = createWriteStream(data);
    const words = 'once upon a time there was a little dog who ran to the park and saw a big red ball'.split(' ');
    let bytes = 0;
    for (let i = 0; bytes < 64 << 20; i++) {
      const pick = (n: number) => Array.from({ length: n }, (_, k) => words[(i * 7 + k * 13) % words.length]).join(' ');
      const line = JSON.stringify({ prompt: pick(6 + (i % 5)), response: ` ${pick(10 + (i % 9))}.` }) + '\n';
      bytes += line.length;
      if (!w.write(line)) await new Promise<void>((ok) => w.once('drain', () => ok()));
    }
    await new Promise<void>((ok) => w.end(() => ok()));
    const out = join(dir, 'big-run');
    // before lazy tokenization and the streamed index, the whole file, its rows and their tokens were held:
    // this heap ran out before step 1
    const res = await runLab(
      [
        'train',
        '--objective',
        'sft',
        '--data',
        data,
        '--steps',
        '1',
        '--batch-size',
        '4',
        '--max-seq-len',
        '64',
        '--backend',
        'cpu',
        '--out',
        out,
      ],
      240_000,
      384,
    );
    expect(res.code, res.stderr.slice(-1000)).toBe(0);
    expect(res.stderr).toMatch(/^step 1\/1 loss \d/m);
    expect(res.stderr).toMatch(/big\.jsonl: reading rows, 32 of 64 MB/);
    expect(res.stderr).toMatch(/rows, tokenized as batches need them/);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { data: { rows: number } };
    expect(run.data.rows).toBeGreaterThan(300_000);
    rmSync(data);
  }, 300_000);
});
