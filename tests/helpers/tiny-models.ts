/** Small model shapes and random sequences for the engine's equivalence tests (backprop, checkpointing). */
import { defaultConfig, type ModelConfig } from '../../src/lib/model/config';
import type { TokenizedSeq } from '../../src/lib/model/batch';
import { mulberry32 } from '../../src/lib/model/sample';

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
