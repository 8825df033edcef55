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
import { randomCloStep } from '../helpers/clo-step';
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

afterAll(() => tf.setBackend('cpu'));

describe('packed-f16 base on webgpu, a tiny Qwen-like model', () => {
  it('one CLO step: the f16 base gives the f32 loss within 1e-2 through the fused ops', async (ctx) => {
    if (!(await webgpuOrSkip('packed-base-webgpu'))) return ctx.skip();
    const f32 = await randomCloStep(config, 'f32', { T: 16, weightSeed: 7, dataSeed: 3 });
    const f16 = await randomCloStep(config, 'f16', { T: 16, weightSeed: 7, dataSeed: 3 });
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
