/**
 * PEFT export for interleaved-RoPE models (llama2.c): the adapter must act on the Hugging Face
 * (half-RoPE) base the merged export writes. Reference: the lab's own llama2.c forward with the adapter.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { forward } from '../../src/lib/model/forward';
import type { LoadedModel } from '../../src/lib/model/model';
import { disposeWeights } from '../../src/lib/model/weights';
import { createLora, snapshotLora, loraFromSnapshot, disposeLora } from '../../src/lib/lora/lora';
import type { LoraState } from '../../src/lib/lora/types';
import { exportMerged } from '../../src/lib/formats/merged';
import { toPeft, fromPeft } from '../../src/lib/formats/peft';
import { permuteHalfToInterleaved, permuteInterleavedToHalf } from '../../src/lib/formats/rope-layout';
import { loadHfModel } from '../../src/lib/formats/hf-load';
import { memorySource } from '../../src/lib/formats/file-source';
import { SafetensorsReader } from '../../src/lib/formats/safetensors';
import { loadStories } from '../helpers/helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function logits(
  m: Pick<LoadedModel, 'config' | 'weights'>,
  ids: number[][],
  lora: LoraState | null = null,
): Float32Array {
  return tf.tidy(
    () => forward(m, tf.tensor2d(ids, [ids.length, ids[0].length], 'int32'), { lora }).dataSync() as Float32Array,
  );
}
function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('rope-layout permutations', () => {
  it('half→interleaved inverts interleaved→half (2 heads × 4, 3 columns)', () => {
    const x = Float32Array.from({ length: 24 }, (_, i) => i);
    const h = permuteInterleavedToHalf(x, 2, 4, 3);
    // row 1 of the half layout is old row 2 (columns 6, 7, 8)
    expect([...h.subarray(3, 6)]).toEqual([6, 7, 8]);
    expect([...permuteHalfToInterleaved(h, 2, 4, 3)]).toEqual([...x]);
  });
});

describe('PEFT export of a llama2.c model (interleaved RoPE, GQA 8/4 heads)', () => {
  it('the exported adapter on the merged HF base scores as the lab with the adapter, for q/k/v/o/MLP targets', async () => {
    const base = loadStories();
    const l0 = createLora(
      base.config,
      {
        r: 4,
        alpha: 8,
        dropout: 0,
        targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
        init: 'gaussian',
      },
      5,
    );
    const snap = await snapshotLora(l0);
    disposeLora(l0);
    let s = 777;
    for (const t of Object.values(snap.tensors))
      for (let i = 0; i < t.B.length; i++) t.B[i] = ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.3;
    const lora = loraFromSnapshot(snap);
    const peft = toPeft(snap, base.config, 'stories260K');
    // the exported q rows are in HF order: row 1 of head 0 is the lab's row 2
    const r = await SafetensorsReader.open(peft.weights);
    const qB = (await r.readFloat('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight')).data;
    expect([...qB.subarray(4, 8)]).toEqual([...snap.tensors['0.q_proj'].B.subarray(8, 12)]);
    const kB = (await r.readFloat('base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight')).data;
    expect([...kB]).toEqual([...permuteInterleavedToHalf(snap.tensors['0.k_proj'].B, 4, 8, 4)]);

    const hf = await loadHfModel(memorySource(Object.fromEntries(await exportMerged(base, null))), 'stories260K-hf');
    const onHf = loraFromSnapshot(await fromPeft(peft.adapterConfig, peft.weights, hf.config));
    const ids = [[1, 403, 407, 261, 378, 432, 383, 286, 300, 301]];
    const lab = logits(base, ids, lora);
    expect(maxAbsDiff(lab, logits(hf, ids, onHf))).toBeLessThan(1e-4);
    expect(maxAbsDiff(lab, logits(base, ids))).toBeGreaterThan(1e-2);
    // import back onto the llama2.c model: exact inverse
    const back = await fromPeft(peft.adapterConfig, peft.weights, base.config);
    for (const [k, t] of Object.entries(snap.tensors)) expect([...back.tensors[k].B]).toEqual([...t.B]);
    disposeLora(lora);
    disposeLora(onHf);
    disposeWeights(hf.weights);
  });
});
