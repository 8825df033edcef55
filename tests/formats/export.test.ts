import { describe, expect, it, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { forward } from '../../src/lib/model/forward';
import { scoreSequences } from '../../src/lib/model/score';
import type { LoadedModel } from '../../src/lib/model/model';
import { disposeWeights } from '../../src/lib/model/weights';
import { createLora, snapshotLora, loraFromSnapshot, disposeLora } from '../../src/lib/lora/lora';
import type { LoraSnapshot, LoraState } from '../../src/lib/lora/types';
import { exportMerged, permuteInterleavedToHalf } from '../../src/lib/formats/merged';
import { toPeft, fromPeft } from '../../src/lib/formats/peft';
import { loadHfModel } from '../../src/lib/formats/hf-load';
import { memorySource } from '../../src/lib/formats/file-source';
import { SafetensorsReader } from '../../src/lib/formats/safetensors';
import { HfTokenizer } from '../../src/lib/tokenizer/hf';
import { loadStories, SHARED, golden } from '../helpers/helpers';
import { hfFixture } from '../helpers/hf-fixtures';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function logits(
  m: { config: LoadedModel['config']; weights: LoadedModel['weights'] },
  ids: number[][],
  lora: LoraState | null = null,
): Float32Array {
  return tf.tidy(
    () => forward(m, tf.tensor2d(ids, [ids.length, ids[0].length], 'int32'), { lora }).dataSync() as Float32Array,
  );
}
function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
/** A LoRA whose B is random too (a fresh adapter has B = 0 and would hide mistakes). */
async function randomLora(
  m: LoadedModel,
  targets: LoraSnapshot['config']['targets'],
  r = 4,
  alpha = 8,
): Promise<LoraState> {
  const l = createLora(m.config, { r, alpha, dropout: 0.05, targets, init: 'gaussian' }, 7);
  const snap = await snapshotLora(l);
  disposeLora(l);
  let s = 12345;
  for (const t of Object.values(snap.tensors))
    for (let i = 0; i < t.B.length; i++) t.B[i] = ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.2;
  return loraFromSnapshot(snap);
}
const ALL = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

describe('RoPE permutation (llama2.c interleaved → HF half)', () => {
  it('moves row 2i to i and 2i+1 to d/2+i inside each head', () => {
    // 2 heads × headDim 4, one column: rows hold their own index
    const rows = Float32Array.from({ length: 8 }, (_, i) => i);
    expect([...permuteInterleavedToHalf(rows, 2, 4, 1)]).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
  });
});

describe('stories260K → merged HF Llama export', () => {
  it('gives the same logits as the llama2.c path (within 1e-5), and the tokenizer encodes like tok512', async () => {
    const base = loadStories();
    const files = await exportMerged(base, null);
    expect([...files.keys()].sort()).toEqual([
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    const cfg = JSON.parse(new TextDecoder().decode(files.get('config.json')!));
    expect(cfg).toMatchObject({
      architectures: ['LlamaForCausalLM'],
      hidden_size: 64,
      intermediate_size: 172,
      num_hidden_layers: 5,
      num_attention_heads: 8,
      num_key_value_heads: 4,
      vocab_size: 512,
      max_position_embeddings: 512,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: true,
      bos_token_id: 1,
      eos_token_id: 2,
    });
    const hf = await loadHfModel(memorySource(Object.fromEntries(files)), 'stories260K-hf');
    expect(hf.config.ropeStyle).toBe('half');
    const ids = [[1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426]];
    const a = logits(base, ids);
    const b = logits(hf, ids);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
    // the golden logits at position 0 (independent numpy reference)
    const g = golden().logits_pos0_bos;
    for (let i = 0; i < 8; i++) expect(b[i]).toBeCloseTo(g.first8[i], 3);

    // tokenizer.json vs the lab's tok512 encoder on real text and edge cases
    expect(hf.tokenizer).toBeInstanceOf(HfTokenizer);
    const lines = readFileSync(resolve(SHARED, 'data/english/tinystories.dev_paragraphs.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .slice(0, 40);
    const texts = lines.map((l) => Object.values(JSON.parse(l)).find((v) => typeof v === 'string') as string);
    texts.push(
      '',
      ' ',
      'a',
      'aaaa aaaa',
      '  two leading spaces',
      'trailing space ',
      'tab\there\nnew line\n\n',
      '안녕하세요 세계',
      'emoji 🙂 ok',
      'Once upon a time',
      '"Hi!" said Tom — café… 3.14',
    );
    let tokens = 0;
    for (const t of texts) {
      const want = base.tokenizer.encode(t);
      expect(hf.tokenizer.encode(t), JSON.stringify(t)).toEqual(want);
      tokens += want.length;
    }
    expect(tokens).toBeGreaterThan(2000);
    // random concatenations of vocab pieces (many merge ties and overlaps), plus unknown characters
    const tk = base.tokenizer as unknown as { pieces: string[] };
    const pool = tk.pieces.slice(259).concat(['가', '\n', ' ', 'é', '🙂']);
    let seed = 1;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let k = 0; k < 1000; k++) {
      let t = '';
      for (let i = 1 + Math.floor(rnd() * 12); i > 0; i--) t += pool[Math.floor(rnd() * pool.length)];
      expect(hf.tokenizer.encode(t), JSON.stringify(t)).toEqual(base.tokenizer.encode(t));
    }
    expect(hf.tokenizer.encode('Once upon a time')).toEqual(golden().greedy_from_prompt.prompt_ids);
    expect(hf.tokenizer.decode(hf.tokenizer.encode('Lily said, "hi!"\nok'))).toBe('Lily said, "hi!"\nok');
    disposeWeights(base.weights);
    disposeWeights(hf.weights);
  });

  it('merges a LoRA adapter: the exported model equals base + adapter', async () => {
    const base = loadStories();
    const lora = await randomLora(base, [...ALL]);
    const files = await exportMerged(base, lora);
    const hf = await loadHfModel(memorySource(Object.fromEntries(files)), 'merged');
    const ids = [[1, 403, 407, 261, 378, 432, 383, 286]];
    const withLora = logits(base, ids, lora);
    const noLora = logits(base, ids);
    const merged = logits(hf, ids);
    expect(maxAbsDiff(withLora, merged)).toBeLessThan(1e-4);
    expect(maxAbsDiff(noLora, merged)).toBeGreaterThan(1e-2);
    // the base weights are untouched
    expect(maxAbsDiff(noLora, logits(loadStories(), ids))).toBe(0);
    disposeLora(lora);
    disposeWeights(hf.weights);
  });
});

describe('PEFT adapter export/import', () => {
  it('writes PEFT key names, shapes, dtype and adapter_config.json; re-import scores identically', async () => {
    const m = loadStories();
    const lora = await randomLora(m, [...ALL], 4, 8);
    const snap = await snapshotLora(lora);
    const peft = toPeft(snap, m.config, 'stories260K');
    expect(peft.adapterConfig).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 4,
      lora_alpha: 8,
      lora_dropout: 0.05,
      bias: 'none',
      base_model_name_or_path: 'stories260K',
      fan_in_fan_out: false,
      target_modules: [...ALL],
    });
    const r = await SafetensorsReader.open(peft.weights, 'adapter_model.safetensors');
    expect(r.names().length).toBe(5 * 7 * 2);
    const info = (n: string) => r.info(n);
    expect(info('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')).toMatchObject({
      dtype: 'F32',
      shape: [4, 64],
    });
    expect(info('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight')).toMatchObject({
      dtype: 'F32',
      shape: [64, 4],
    });
    expect(info('base_model.model.model.layers.4.self_attn.k_proj.lora_B.weight').shape).toEqual([32, 4]);
    expect(info('base_model.model.model.layers.2.mlp.down_proj.lora_A.weight').shape).toEqual([4, 172]);
    expect(info('base_model.model.model.layers.2.mlp.gate_proj.lora_B.weight').shape).toEqual([172, 4]);
    expect([...(await r.readFloat('base_model.model.model.layers.3.self_attn.v_proj.lora_B.weight')).data]).toEqual([
      ...snap.tensors['3.v_proj'].B,
    ]);

    const back = await fromPeft(JSON.parse(JSON.stringify(peft.adapterConfig)), peft.weights, m.config);
    expect(back.config).toMatchObject({ r: 4, alpha: 8, dropout: 0.05, targets: [...ALL] });
    const lora2 = loraFromSnapshot(back);
    const items = ['Once upon a time, there was a cat.', 'Lily went to the park with her mom.'].map((t) => ({
      ids: m.tokenizer.encode(t),
      start: 3,
    }));
    const s1 = await scoreSequences(m, items, { lora });
    const s2 = await scoreSequences(m, items, { lora: lora2 });
    const s0 = await scoreSequences(m, items);
    expect(s2.map((s) => s.sum)).toEqual(s1.map((s) => s.sum));
    expect(Math.abs(s1[0].sum - s0[0].sum)).toBeGreaterThan(1e-3);
    disposeLora(lora);
    disposeLora(lora2);
  });

  it('GPT-2: q/k/v adapters become one exact c_attn adapter (rank_pattern) and come back with the same scores', async () => {
    const fx = hfFixture('gpt2', 'F32');
    const m = await loadHfModel(memorySource(fx.files), 'gpt2-tiny');
    const lora = await randomLora(m, ['q_proj', 'v_proj', 'o_proj', 'down_proj'], 2, 4);
    const peft = toPeft(await snapshotLora(lora), m.config, 'gpt2-tiny');
    expect(peft.adapterConfig).toMatchObject({
      r: 2,
      lora_alpha: 4,
      fan_in_fan_out: true,
      target_modules: ['c_attn', 'attn.c_proj', 'mlp.c_proj'],
      rank_pattern: { c_attn: 4 },
      alpha_pattern: { c_attn: 8 },
    });
    const r = await SafetensorsReader.open(peft.weights);
    expect(r.info('base_model.model.transformer.h.1.attn.c_attn.lora_A.weight').shape).toEqual([4, 16]);
    expect(r.info('base_model.model.transformer.h.1.attn.c_attn.lora_B.weight').shape).toEqual([48, 4]);
    expect(r.info('base_model.model.transformer.h.0.mlp.c_proj.lora_A.weight').shape).toEqual([2, 64]);
    expect(r.info('base_model.model.transformer.h.0.attn.c_proj.lora_B.weight').shape).toEqual([16, 2]);
    const lora2 = loraFromSnapshot(await fromPeft(peft.adapterConfig, peft.weights, m.config));
    expect(lora2.config.targets).toEqual(['q_proj', 'v_proj', 'o_proj', 'down_proj']);
    const items = [
      { ids: [0, 5, 6, 7, 8, 9, 10], start: 2 },
      { ids: [0, 3, 4, 20, 21], start: 1 },
    ];
    const s1 = await scoreSequences(m, items, { lora });
    const s2 = await scoreSequences(m, items, { lora: lora2 });
    const s0 = await scoreSequences(m, items);
    for (let i = 0; i < items.length; i++) expect(Math.abs(s1[i].sum - s2[i].sum)).toBeLessThan(1e-5);
    expect(Math.abs(s1[0].sum - s0[0].sum)).toBeGreaterThan(1e-3);
    disposeLora(lora);
    disposeLora(lora2);
    disposeWeights(m.weights);
    disposeWeights(fx.weights);
  });

  it('refuses non-LoRA adapters and mismatched modules', async () => {
    const m = loadStories();
    await expect(fromPeft({ peft_type: 'IA3', r: 4 }, new Uint8Array(), m.config)).rejects.toThrow(
      'adapter_config.json: peft_type is "IA3", only "LORA" is supported',
    );
    const fx = hfFixture('gpt2', 'F32');
    const g = await loadHfModel(memorySource(fx.files), 'g');
    const lora = await randomLora(g, ['q_proj'], 2, 4);
    const peft = toPeft(await snapshotLora(lora), g.config, 'g');
    await expect(fromPeft(peft.adapterConfig, peft.weights, m.config, 'a.safetensors')).rejects.toThrow(
      'a.safetensors: module "transformer.h.0.attn.c_attn" does not match a llama2c linear layer',
    );
    disposeLora(lora);
  });
});
