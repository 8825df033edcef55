import * as tf from '@tensorflow/tfjs';
import { releaseRowBlocks } from './row-blocks';
import { PackedWeight } from './kernels/packed-matmul/packed-matmul';

/**
 * A linear layer's weight [out, in]: an f32 tensor, or a frozen matrix held packed (int8 / f16,
 * model/packed-base.ts), which has no f32 copy.
 */
export type LinearWeight = tf.Tensor2D | PackedWeight;

/** A linear layer stored like PyTorch: weight [out, in], y = x W^T + b. */
export interface Linear {
  w: LinearWeight;
  b?: tf.Tensor1D;
}

export interface Norm {
  w: tf.Tensor1D;
  /** LayerNorm only */
  b?: tf.Tensor1D;
}

/** PEFT target names of the linear layers in one block. GPT-2 has no gate_proj. */
export type LinearName = 'q_proj' | 'k_proj' | 'v_proj' | 'o_proj' | 'gate_proj' | 'up_proj' | 'down_proj';
export const LINEAR_NAMES: LinearName[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

export interface LayerWeights {
  attnNorm: Norm;
  mlpNorm: Norm;
  linears: Partial<Record<LinearName, Linear>>;
}

export interface ModelWeights {
  /** [vocab, dim] */
  embed: tf.Tensor2D;
  /** [maxSeqLen, dim], GPT-2 only */
  posEmbed?: tf.Tensor2D;
  layers: LayerWeights[];
  finalNorm: Norm;
  /** [vocab, dim]; absent when tied to embed */
  lmHead?: tf.Tensor2D;
  /** set while embedding rows train (src/lib/train/trainable-rows.ts): the output head then gets a gradient */
  trainableHead?: boolean;
}

/** Every tensor of the model, keyed by a stable name (packed weights are not tensors: packedWeights). */
export function namedTensors(w: ModelWeights): Map<string, tf.Tensor> {
  const m = new Map<string, tf.Tensor>();
  m.set('embed', w.embed);
  if (w.posEmbed) m.set('posEmbed', w.posEmbed);
  w.layers.forEach((l, i) => {
    m.set(`layers.${i}.attnNorm.w`, l.attnNorm.w);
    if (l.attnNorm.b) m.set(`layers.${i}.attnNorm.b`, l.attnNorm.b);
    m.set(`layers.${i}.mlpNorm.w`, l.mlpNorm.w);
    if (l.mlpNorm.b) m.set(`layers.${i}.mlpNorm.b`, l.mlpNorm.b);
    for (const [name, lin] of Object.entries(l.linears)) {
      if (!lin) continue;
      if (!(lin.w instanceof PackedWeight)) m.set(`layers.${i}.${name}.w`, lin.w);
      if (lin.b) m.set(`layers.${i}.${name}.b`, lin.b);
    }
  });
  m.set('finalNorm.w', w.finalNorm.w);
  if (w.finalNorm.b) m.set('finalNorm.b', w.finalNorm.b);
  if (w.lmHead) m.set('lmHead', w.lmHead);
  return m;
}

/** The packed frozen matrices of the model (model/packed-base.ts). */
export function packedWeights(w: ModelWeights): PackedWeight[] {
  return w.layers.flatMap((l) =>
    Object.values(l.linears).flatMap((lin) => (lin?.w instanceof PackedWeight ? [lin.w] : [])),
  );
}

export function disposeWeights(w: ModelWeights): void {
  releaseRowBlocks(w.embed);
  releaseRowBlocks(w.lmHead);
  for (const t of namedTensors(w).values()) t.dispose();
  for (const p of packedWeights(w)) p.dispose();
}
