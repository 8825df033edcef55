/** Small model shapes, random sequences and a CLO step's inputs for the engine's equivalence tests (backprop, checkpointing). */
import * as tf from '@tensorflow/tfjs';
import { defaultConfig, type ModelConfig } from '../../src/lib/model/config';
import { disposeBatch, packBatch, type TokenizedSeq } from '../../src/lib/model/batch';
import { mulberry32 } from '../../src/lib/model/sample';
import { randomWeights } from '../../src/lib/model/random';
import type { ModelLike } from '../../src/lib/model/forward';
import { createLora, disposeLora, loraVariables, withAdapterOff } from '../../src/lib/lora/lora';
import { LINEAR_NAMES, type LinearName } from '../../src/lib/model/weights';
import { getObjective } from '../../src/lib/objectives';
import { sequenceLogprobs } from '../../src/lib/model/logprobs';

/** The GPT-2 variant of a tiny shape: learned positions, LayerNorm, GELU, biases, no GQA. */
export function gpt2Variant(
  tiny: Partial<ModelConfig> & Pick<ModelConfig, 'dim' | 'nLayers' | 'nHeads' | 'vocabSize'>,
): ModelConfig {
  return defaultConfig({
    ...tiny,
    arch: 'gpt2' as const,
    nKvHeads: tiny.nHeads,
    position: 'learned',
    norm: 'layer',
    mlp: 'gelu',
    bias: { qkv: true, o: true, mlp: true },
  });
}

/** n sequences of minLen..minLen+spread−1 tokens: BOS then random ids in [3, V), a random response start. */
export function randomSeqs(n: number, V: number, seed: number, minLen: number, spread: number): TokenizedSeq[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const len = minLen + Math.floor(rng() * spread);
    const ids = [1, ...Array.from({ length: len - 1 }, () => 3 + Math.floor(rng() * (V - 3)))];
    return { ids, start: 1 + Math.floor(rng() * (len - 2)) };
  });
}

/**
 * A CLO step's inputs on a tiny model, as the engine's equivalence tests (backprop, checkpointing) take
 * them: random weights, LoRA (r 4, dropout 0.2) on every linear the model has, with B drawn non-zero so
 * that gradients reach A; `seqs` packed (4 sequences per CLO group) with their counts and reference
 * log-probs (adapter off). `loss(seed, checkpointing)` is the CLO loss (β 0.5, λ 0.3) with dropout seed
 * `seed`, for tf.variableGrads over `vars`.
 */
export function cloCase(cfg: ModelConfig, seqs: TokenizedSeq[]) {
  const model: ModelLike = { config: cfg, weights: randomWeights(cfg, 5, 0.1) };
  const targets = LINEAR_NAMES.filter((n) => cfg.mlp === 'swiglu' || n !== 'gate_proj') as LinearName[];
  const lora = createLora(cfg, { r: 4, alpha: 8, dropout: 0.2, targets, init: 'gaussian' }, 3);
  const rng = mulberry32(9);
  for (const p of lora.adapters.values())
    p.B.assign(
      tf.tensor(
        Float32Array.from({ length: p.B.size }, () => (rng() * 2 - 1) * 0.1),
        p.B.shape,
      ),
    );
  const batch = packBatch(seqs, cfg.maxSeqLen, 4);
  const counts = tf.tensor1d(batch.counts);
  const reference = tf.tidy(() => withAdapterOff(lora, () => sequenceLogprobs(model, batch, lora, false)));
  const loss = (seed: number, checkpointing = false): tf.Scalar => {
    const policy = sequenceLogprobs(model, batch, lora, true, seed, { checkpointing });
    return getObjective('clo').loss({ policy, reference, counts }, { beta: 0.5, lambda: 0.3 }).loss;
  };
  const dispose = () => {
    tf.dispose([counts, reference]);
    disposeBatch(batch);
    disposeLora(lora);
  };
  return { vars: loraVariables(lora), loss, dispose };
}
