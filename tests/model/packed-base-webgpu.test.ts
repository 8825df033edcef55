/**
 * The packed-f16 frozen base on WebGPU (Dawn on SwiftShader in Node), on a tiny model of Qwen2.5's
 * layout (GQA 4/2 heads, qkv bias, tied embeddings, RoPE 'half', θ 1e6): one CLO LoRA step with the block
 * matrices packed as f16 gives the f32 base's loss within 1e-2 relative, and runs through the fused
 * webgpu ops (the LoRA linear reading f16 W, attention with RoPE folded in, the residual add + RMSNorm,
 * the head's log-softmax pick, the CLO loss). The real shapes take minutes a step on SwiftShader and are
 * benched (bench/webgpu-large.ts); a head read in row blocks is tested in row-blocks.test.ts. Without a
 * WebGPU adapter the test is skipped with a warning.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { defaultConfig } from '../../src/lib/model/config';
import { randomWeights } from '../../src/lib/model/random';
import { disposeWeights } from '../../src/lib/model/weights';
import { packFrozenBase, type BaseFormat } from '../../src/lib/model/packed-base';
import { mulberry32 } from '../../src/lib/model/sample';
import type { TokenizedSeq } from '../../src/lib/model/batch';
import { Trainer } from '../../src/lib/train/trainer';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import { FakeTokenizer } from '../helpers/fake-tokenizer';
import { webgpuOrSkip } from './kernels/webgpu-helpers';

const config = defaultConfig({
  arch: 'llama',
  dim: 32,
  hiddenDim: 88,
  nLayers: 2,
  nHeads: 4,
  nKvHeads: 2,
  vocabSize: 300,
  maxSeqLen: 32,
  ropeTheta: 1e6,
  ropeStyle: 'half',
  tiedEmbeddings: true,
  bias: { qkv: true, o: false, mlp: false },
});
const T = 16;

afterAll(() => tf.setBackend('cpu'));

/** One CLO step's loss and the tfjs kernels it ran, for the base format given (the same random values). */
async function cloStep(base: BaseFormat): Promise<{ loss: number; kernels: string[] }> {
  const weights = randomWeights(config, 7);
  const model = { name: 'qwen-like', source: 'random' as const, config, weights, tokenizer: new FakeTokenizer(['a']) };
  if (base !== 'f32') packFrozenBase(model, base);
  const rng = mulberry32(3);
  const seqs: TokenizedSeq[] = Array.from({ length: 4 }, () => ({
    ids: Array.from({ length: T }, () => 3 + Math.floor(rng() * (config.vocabSize - 3))),
    start: T / 2,
  }));
  const cfg = defaultTrainConfig('clo', {
    batchSize: 1,
    maxSeqLen: T,
    steps: 10,
    lora: { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], init: 'gaussian' },
  });
  const row = { kind: 'clo' as const, xEn: 'a', yEn: 'b', xTgt: 'c', yTgt: 'd', lang: 'ko' };
  const trainer = Trainer.create(model, [row], cfg);
  let loss = NaN;
  const prof = await tf.profile(async () => {
    loss = (await trainer.step([seqs])).loss;
  });
  trainer.dispose();
  disposeWeights(model.weights);
  return { loss, kernels: prof.kernels.map((k) => k.name) };
}

describe('packed-f16 base on webgpu, a tiny Qwen-like model', () => {
  it('one CLO step: the f16 base gives the f32 loss within 1e-2 through the fused ops', async (ctx) => {
    if (!(await webgpuOrSkip('packed-base-webgpu'))) return ctx.skip();
    const f32 = await cloStep('f32');
    const f16 = await cloStep('f16');
    expect(Number.isFinite(f32.loss)).toBe(true);
    const rel = Math.abs(f16.loss - f32.loss) / Math.abs(f32.loss);
    expect(rel).toBeLessThan(1e-2);
    expect(rel).toBeGreaterThan(0); // the packed run is not the f32 run
    for (const k of [
      'CloLabLoraLinear',
      'CloLabLoraLinearGrad',
      'CloLabAttention',
      'CloLabAddRMSNorm',
      'CloLabLogSoftmaxPick',
      'CloLabCloLoss',
    ])
      expect(f16.kernels).toContain(k);
  });
});
