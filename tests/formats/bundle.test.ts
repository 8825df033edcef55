import { describe, expect, it, vi, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildTrlBundle, cloDirections } from '../../src/lib/formats/trl-bundle';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import type { TrainRow } from '../../src/lib/data/rows';
import {
  estimatePeak,
  checkBudget,
  loraParamCount,
  type MemoryLimits,
  type MemoryRunShape,
} from '../../src/lib/model/memory';
import type { ModelConfig } from '../../src/lib/model/config';
import { dirSource, fileChunks, loadHfModelFromDir } from '../../cli/node-files';
import { createLora, snapshotLora, disposeLora } from '../../src/lib/lora/lora';
import { toPeft, peftFileMap } from '../../src/lib/formats/peft';
import { SafetensorsReader } from '../../src/lib/formats/safetensors';
import { disposeWeights } from '../../src/lib/model/weights';
import { loadStories } from '../helpers/helpers';
import { hfFixture, tinyConfig } from '../helpers/hf-fixtures';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const CLO: TrainRow[] = [
  { kind: 'clo', xEn: 'Q1 en', yEn: 'A1 en', xTgt: 'Q1 ko', yTgt: 'A1 ko', lang: 'ko' },
  { kind: 'clo', xEn: 'Q2 en', yEn: 'A2 en', xTgt: 'Q2 ko', yTgt: 'A2 ko', lang: 'ko' },
];

describe('TRL bundle', () => {
  it('writes train.py, the lab step order with its token ids, both CLO directions, settings and a README', () => {
    expect(cloDirections(CLO)).toEqual([
      { prompt: 'Q1 en', chosen: 'A1 en', rejected: 'A1 ko', direction: 'en', lang: 'ko' },
      { prompt: 'Q1 ko', chosen: 'A1 ko', rejected: 'A1 en', direction: 'tgt', lang: 'ko' },
      { prompt: 'Q2 en', chosen: 'A2 en', rejected: 'A2 ko', direction: 'en', lang: 'ko' },
      { prompt: 'Q2 ko', chosen: 'A2 ko', rejected: 'A2 en', direction: 'tgt', lang: 'ko' },
    ]);
    const tok = loadStories().tokenizer;
    const cfg = defaultTrainConfig('clo', { batchSize: 3, steps: 4, lambda: 0.5, beta: 0.2, seed: 1 });
    const files = buildTrlBundle({
      rows: CLO,
      config: cfg,
      baseModel: 'base',
      adapterDir: 'adapter',
      tokenizer: tok,
      modelMaxSeqLen: 512,
    });
    expect([...files.keys()].sort()).toEqual([
      'README.md',
      'accelerate_config.yaml',
      'accelerate_config_cpu.yaml',
      'data/clo_preference.jsonl',
      'data/clo_target_sft.jsonl',
      'data/rows.jsonl',
      'data/train.jsonl',
      'requirements.txt',
      'train.py',
      'trl_config.json',
    ]);
    expect(
      files
        .get('data/clo_target_sft.jsonl')!
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { prompt: 'Q1 ko', completion: 'A1 ko', lang: 'ko' },
      { prompt: 'Q2 ko', completion: 'A2 ko', lang: 'ko' },
    ]);
    // 4 steps × 3 rows, in the sampler's order (2 rows: each epoch is a permutation of rows 1, 2)
    const order = files
      .get('data/train.jsonl')!
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(order.map((o) => o.step)).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
    for (let e = 0; e < 6; e++)
      expect(
        order
          .slice(2 * e, 2 * e + 2)
          .map((o) => o.row)
          .sort(),
      ).toEqual([1, 2]);
    // data/rows.jsonl: each usable row once, in file order (the sampler's indices)
    const usable = files
      .get('data/rows.jsonl')!
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(usable.map((u) => u.row)).toEqual([1, 2]);
    expect(usable[order[0].row - 1].seqs).toEqual(order[0].seqs);
    // accelerate: the most GPUs that split the batch of 3 evenly is 1; the CPU variant runs 2 processes
    expect(files.get('accelerate_config.yaml')).toContain('num_processes: 1');
    expect(files.get('accelerate_config_cpu.yaml')).toContain('num_processes: 2');
    // sequence 2 of a quadruple is (x_tgt, y_tgt): BOS + the text's tokens + EOS, response after the prompt's tokens
    const q = order[0];
    const r = CLO[q.row - 1] as Extract<TrainRow, { kind: 'clo' }>;
    expect(q.seqs).toHaveLength(4);
    expect(q.seqs[2].ids).toEqual([...tok.encode(r.xTgt + r.yTgt), 2]);
    expect(q.seqs[2].start).toBe(tok.encode(r.xTgt).length);
    expect(q.seqs[1].ids).toEqual([...tok.encode(r.xEn + r.yTgt), 2]);
    const tc = JSON.parse(files.get('trl_config.json')!);
    expect(tc).toMatchObject({ trainer: 'CLOTrainer', base_model: 'base', adapter: 'adapter', objective: 'clo' });
    expect(tc.trainer_kwargs).toMatchObject({
      per_device_train_batch_size: 3,
      max_steps: 4,
      learning_rate: cfg.lr,
      seed: 1,
    });
    expect(tc.lab_config).toMatchObject({ beta: 0.2, lambda: 0.5 });
    expect(tc.peft_lora_config).toMatchObject({
      r: cfg.lora.r,
      lora_alpha: cfg.lora.alpha,
      target_modules: cfg.lora.targets,
      task_type: 'CAUSAL_LM',
      bias: 'none',
    });
    expect(files.get('train.py')).toContain('class CLOTrainer(LabMixin, _BaseTrainer)');
    expect(files.get('requirements.txt')).toContain('trl==1.13.0');
    const readme = files.get('README.md')!;
    expect(readme).toContain('accelerate launch --config_file accelerate_config.yaml train.py');
    expect(readme).toContain('python train.py --max-steps 2 --cpu');
    expect(readme).toContain('given x_tgt only');
  });
  it('writes SFT as prompt/completion and DPO/ORPO as prompt/chosen/rejected', () => {
    const tok = loadStories().tokenizer;
    const sft = buildTrlBundle({
      rows: [{ kind: 'sft', prompt: 'p', response: 'r' }],
      config: defaultTrainConfig('sft'),
      baseModel: 'm',
      tokenizer: tok,
      modelMaxSeqLen: 512,
    });
    expect(sft.get('data/sft.jsonl')).toBe('{"prompt":"p","completion":"r"}\n');
    expect(JSON.parse(sft.get('trl_config.json')!).trainer).toBe('SFTTrainer');
    const orpo = buildTrlBundle({
      rows: [{ kind: 'preference', prompt: 'p', chosen: 'c', rejected: 'r' }],
      config: defaultTrainConfig('orpo', { lambda: 0.25 }),
      baseModel: 'm',
      tokenizer: tok,
      modelMaxSeqLen: 512,
    });
    expect(orpo.get('data/preference.jsonl')).toBe('{"prompt":"p","chosen":"c","rejected":"r"}\n');
    expect(JSON.parse(orpo.get('trl_config.json')!)).toMatchObject({
      trainer: 'ORPOTrainer',
      trainer_kwargs: { beta: 0.25 },
    });
  });
});

describe('memory guard', () => {
  const check = (c: ModelConfig, run: MemoryRunShape, limits: MemoryLimits) =>
    checkBudget(estimatePeak(c, run), limits);
  it('counts LoRA parameters (the estimate itself is tested against measured peaks in model-memory-guard.test.ts)', () => {
    const c = tinyConfig('llama'); // d 16, h 24, L 2, H 4, V 40, q 16, kv 8
    const e = estimatePeak(c, { batchSize: 2, seqLen: 10, lora: { r: 4, targets: ['q_proj', 'v_proj'] } });
    // LoRA params: per layer r·(out+in): q 4·(16+16)=128, v 4·(8+16)=96 → 224 × 2 layers
    expect(loraParamCount(c, 4, ['q_proj', 'v_proj'])).toBe(448);
    expect(e.lora).toBe(448 * 4);
    expect(e.optimizer).toBe(2 * 448 * 4);
    expect(e.total).toBe(e.weights + e.lora + e.gradients + e.optimizer + e.activations + e.working);
  });
  it('refuses with what to change', () => {
    const c = { ...tinyConfig('llama'), vocabSize: 32000 };
    const buf = check(
      c,
      { batchSize: 40, seqLen: 512, lora: { r: 8, targets: ['q_proj'] }, backend: 'webgpu' },
      { maxStorageBufferBindingSize: 128 * 2 ** 20 },
    );
    expect(buf.ok).toBe(false);
    // the logits are computed in blocks now; at batch 40 × 512 the attention scores (4 heads × 512²) are the largest buffer
    expect(buf.advice).toMatch(
      /attention scores .* needs 160\.0 MiB but this GPU allows 128\.0 MiB per buffer \(batch 40 sequences, sequence 512, LoRA rank 8\); use a shorter sequence/,
    );
    expect(
      check(
        c,
        { batchSize: 1, seqLen: 64, lora: { r: 8, targets: ['q_proj'] }, backend: 'webgpu' },
        { maxStorageBufferBindingSize: 128 * 2 ** 20 },
      ).ok,
    ).toBe(true);
    const big = {
      ...tinyConfig('llama'),
      dim: 256,
      hiddenDim: 512,
      nHeads: 4,
      nKvHeads: 4,
      headDim: 64,
      vocabSize: 100,
    };
    const tot = check(
      big,
      {
        batchSize: 1,
        seqLen: 8,
        lora: { r: 256, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
      },
      { totalBytes: 12 * 2 ** 20 },
    );
    expect(tot.ok).toBe(false);
    expect(tot.advice).toMatch(/^Not enough memory: .* use a lower LoRA rank or fewer target modules\.$/);
    expect(check(big, { batchSize: 1, seqLen: 8 }, { totalBytes: 1000 }).advice).toMatch(/model weights alone need/);
  });
});

describe('Node files and the export command', () => {
  it('reads a HF folder from disk with ranged reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hf-dir-'));
    const fx = hfFixture('qwen2', 'F16', 2);
    for (const [n, v] of Object.entries(fx.files)) writeFileSync(join(dir, n), v);
    expect(dirSource(dir).list().sort()).toEqual(Object.keys(fx.files).sort());
    const c = fileChunks(join(dir, 'config.json'));
    expect(new TextDecoder().decode(await c.read(2, 13))).toBe(String(fx.files['config.json']).slice(2, 15));
    const m = await loadHfModelFromDir(dir);
    expect(m.config.arch).toBe('qwen2');
    expect(m.name).toMatch(/^hf-dir-/);
    disposeWeights(m.weights);
    disposeWeights(fx.weights);
  });

  it('export --format peft|merged writes the files and prints {files}', async () => {
    const m = loadStories();
    const lora = createLora(
      m.config,
      { r: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'], init: 'gaussian' },
      1,
    );
    const adapter = mkdtempSync(join(tmpdir(), 'adapter-'));
    for (const [n, b] of peftFileMap(toPeft(await snapshotLora(lora), m.config, 'stories260K')))
      writeFileSync(join(adapter, n), b);
    disposeLora(lora);
    const { run } = await import('../../cli/commands/export');
    const out = mkdtempSync(join(tmpdir(), 'export-'));
    const logs: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((s: string) => void logs.push(s));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(
        await run([
          '--model',
          'stories260K',
          '--adapter',
          adapter,
          '--format',
          'peft',
          '--out',
          join(out, 'p'),
          '--json',
        ]),
      ).toBe(0);
      expect(JSON.parse(logs.at(-1)!)).toEqual({ files: ['adapter_config.json', 'adapter_model.safetensors'] });
      const r = await SafetensorsReader.open(new Uint8Array(readFileSync(join(out, 'p', 'adapter_model.safetensors'))));
      expect(r.names()).toHaveLength(5 * 2 * 2);
      expect(JSON.parse(readFileSync(join(out, 'p', 'adapter_config.json'), 'utf8'))).toMatchObject({
        r: 2,
        lora_alpha: 4,
        target_modules: ['q_proj', 'v_proj'],
      });
      expect(
        await run([
          '--model',
          'stories260K',
          '--adapter',
          adapter,
          '--format',
          'merged',
          '--out',
          join(out, 'm'),
          '--json',
          '--dtype',
          'F16',
        ]),
      ).toBe(0);
      expect(JSON.parse(logs.at(-1)!).files).toContain('model.safetensors');
      const mr = await SafetensorsReader.open(new Uint8Array(readFileSync(join(out, 'm', 'model.safetensors'))));
      expect(mr.info('model.layers.0.self_attn.q_proj.weight')).toMatchObject({ dtype: 'F16', shape: [64, 64] });
      await expect(run(['--format', 'trl', '--out', join(out, 't')])).rejects.toThrow(
        'export: --format trl needs --adapter DIR or --objective sft|dpo|orpo|clo',
      );
      expect(existsSync(join(out, 't'))).toBe(false);
    } finally {
      spy.mockRestore();
      err.mockRestore();
    }
  });
});
