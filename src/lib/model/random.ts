import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config';
import type { LayerWeights, LinearName, LinearWeight, ModelWeights } from './weights';
import type { BaseFormat } from './base-format';
import { packMatrix } from './kernels/packed-matmul/pack';
import { PackedWeight } from './kernels/packed-matmul/packed-matmul';
import { gaussian, mulberry32 } from './sample';
import { linearShape } from './adapter';

/**
 * Random-initialised weights (std 0.02 like GPT-2/Llama init) for tests and benchmarks. Same seed → same
 * weights on every backend. With `base` 'int8' / 'f16' the block matrices are made packed (packed-base.ts)
 * from the same values, without an f32 tensor of them ever existing (a large shape fits the heap).
 */
export function randomWeights(cfg: ModelConfig, seed = 0, std = 0.02, base: BaseFormat = 'f32'): ModelWeights {
  const rng = mulberry32(seed);
  const values = (n: number, s: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = gaussian(rng) * s;
    return a;
  };
  const randn = (shape: number[], s = std) =>
    tf.tensor(
      values(
        shape.reduce((a, b) => a * b, 1),
        s,
      ),
      shape,
    );
  const weight = (out: number, inp: number): LinearWeight =>
    base === 'f32'
      ? (randn([out, inp]) as tf.Tensor2D)
      : new PackedWeight(packMatrix(values(out * inp, std), out, inp, base));
  const normW = () => ({
    w: tf.add(tf.ones([cfg.dim]), randn([cfg.dim], 0.1)) as tf.Tensor1D,
    b: cfg.norm === 'layer' ? (randn([cfg.dim]) as tf.Tensor1D) : undefined,
  });
  const names: LinearName[] =
    cfg.mlp === 'swiglu'
      ? ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']
      : ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'up_proj', 'down_proj'];
  const layers: LayerWeights[] = [];
  for (let l = 0; l < cfg.nLayers; l++) {
    const linears: LayerWeights['linears'] = {};
    for (const n of names) {
      const [out, inp] = linearShape(cfg, n);
      const hasBias =
        n === 'q_proj' || n === 'k_proj' || n === 'v_proj' ? cfg.bias.qkv : n === 'o_proj' ? cfg.bias.o : cfg.bias.mlp;
      linears[n] = { w: weight(out, inp), b: hasBias ? (randn([out]) as tf.Tensor1D) : undefined };
    }
    layers.push({ attnNorm: normW(), mlpNorm: normW(), linears });
  }
  return {
    embed: randn([cfg.vocabSize, cfg.dim], 0.5) as tf.Tensor2D,
    posEmbed: cfg.position === 'learned' ? (randn([cfg.maxSeqLen, cfg.dim], 0.1) as tf.Tensor2D) : undefined,
    layers,
    finalNorm: normW(),
    lmHead: cfg.tiedEmbeddings ? undefined : (randn([cfg.vocabSize, cfg.dim], 0.5) as tf.Tensor2D),
  };
}
