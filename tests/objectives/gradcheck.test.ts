/**
 * LoRA gradients of every objective (SFT, DPO, ORPO, CLO) against central finite differences,
 * on tiny random models (rope 'half', rope 'interleaved', GPT-2 style), cpu backend (and CLO on wasm), float32.
 * B is set to small random values first (at B = 0, dL/dA = 0 and A would not be checked).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { defaultConfig, type ModelConfig } from '../../src/lib/model/config';
import { randomWeights } from '../../src/lib/model/random';
import type { ModelLike } from '../../src/lib/model/forward';
import { createLora, loraVariables, withAdapterOff } from '../../src/lib/lora/lora';
import type { LoraState } from '../../src/lib/lora/types';
import { LINEAR_NAMES, type LinearName } from '../../src/lib/model/weights';
import { getObjective } from '../../src/lib/objectives';
import { disposeBatch, packBatch, type PackedBatch, type TokenizedSeq } from '../../src/lib/model/batch';
import { sequenceLogprobs } from '../../src/lib/model/logprobs';
import { mulberry32 } from '../../src/lib/model/sample';
import { installLabKernels } from '../../src/lib/model/kernels/install';

installLabKernels('wasm');

const tiny = { dim: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 32, hiddenDim: 24, maxSeqLen: 32 };
const CONFIGS: Record<string, ModelConfig> = {
  'llama, rope half': defaultConfig({ ...tiny, ropeStyle: 'half' }),
  'llama2.c, rope interleaved': defaultConfig({ ...tiny, ropeStyle: 'interleaved', tiedEmbeddings: false }),
  'gpt2 (learned positions, LayerNorm, GELU, biases)': defaultConfig({
    ...tiny,
    arch: 'gpt2',
    nKvHeads: 4,
    position: 'learned',
    norm: 'layer',
    mlp: 'gelu',
    bias: { qkv: true, o: true, mlp: true },
  }),
};

/** Hand-built sequences: random ids in [3, V), varied lengths and prompt splits (no padding-free shortcut). */
function makeSeqs(n: number, V: number, seed: number): TokenizedSeq[] {
  const rng = mulberry32(seed);
  const out: TokenizedSeq[] = [];
  for (let i = 0; i < n; i++) {
    const len = 5 + Math.floor(rng() * 8); // 5..12
    const ids = [1, ...Array.from({ length: len - 1 }, () => 3 + Math.floor(rng() * (V - 3)))];
    const start = 1 + Math.floor(rng() * (len - 2)); // at least 2 response tokens
    out.push({ ids, start });
  }
  return out;
}

const SEQS_PER_ROW: Record<string, number> = { sft: 1, dpo: 2, orpo: 2, clo: 4 };

interface Case {
  model: ModelLike;
  lora: LoraState;
  batch: PackedBatch;
  counts: tf.Tensor1D;
  reference: tf.Tensor1D | null;
}

function lossOf(c: Case, objective: string, params = { beta: 0.5, lambda: 0.3 }): tf.Scalar {
  const obj = getObjective(objective);
  const policy = sequenceLogprobs(c.model, c.batch, c.lora, false);
  return obj.loss({ policy, reference: c.reference, counts: c.counts }, params).loss;
}

function lossValue(c: Case, objective: string): number {
  const t = tf.tidy(() => lossOf(c, objective));
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

/** Set one coordinate of a variable (float32). */
function setCoord(v: tf.Variable, idx: number, value: number): void {
  const data = v.dataSync().slice() as Float32Array;
  data[idx] = value;
  v.assign(tf.tensor(data, v.shape));
}

// Every objective on cpu; CLO (which exercises every op of the others) also on wasm, where forward/LoRA
// products run through custom gradients (src/lib/model/matmul.ts).
const CASES: [string, ModelConfig, string, string[]][] = [
  ...Object.entries(CONFIGS).map(([label, cfg]): [string, ModelConfig, string, string[]] => [
    label,
    cfg,
    'cpu',
    ['sft', 'dpo', 'orpo', 'clo'],
  ]),
  ...Object.entries(CONFIGS).map(([label, cfg]): [string, ModelConfig, string, string[]] => [
    label,
    cfg,
    'wasm',
    ['clo'],
  ]),
];

describe.each(CASES)('gradcheck on %s (%s)', (_label, cfg, backend, objectives) => {
  let model: ModelLike;
  let lora: LoraState;

  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    await tf.ready();
    model = { config: cfg, weights: randomWeights(cfg, 7, 0.1) };
    const targets = LINEAR_NAMES.filter((n) => cfg.mlp === 'swiglu' || n !== 'gate_proj') as LinearName[];
    lora = createLora(cfg, { r: 4, alpha: 8, dropout: 0, targets, init: 'gaussian' }, 3);
    // B ≠ 0 so that dL/dA ≠ 0
    const rng = mulberry32(11);
    for (const p of lora.adapters.values()) {
      const n = p.B.size;
      p.B.assign(
        tf.tensor(
          Float32Array.from({ length: n }, () => (rng() * 2 - 1) * 0.1),
          p.B.shape,
        ),
      );
    }
  });

  it.each(objectives)('%s: analytic LoRA gradients match central differences', async (objective) => {
    await tf.setBackend(backend);
    const seqs = makeSeqs(2 * SEQS_PER_ROW[objective], cfg.vocabSize, objective.length * 31 + cfg.dim);
    const batch = packBatch(seqs, cfg.maxSeqLen, 4);
    const counts = tf.tensor1d(batch.counts);
    const needsRef = getObjective(objective).needsReference;
    const reference = needsRef
      ? tf.tidy(() => withAdapterOff(lora, () => sequenceLogprobs(model, batch, lora, false)))
      : null;
    const c: Case = { model, lora, batch, counts, reference };

    const vars = loraVariables(lora);
    const { value, grads } = tf.variableGrads(() => lossOf(c, objective), vars);
    const L0 = value.dataSync()[0];
    expect(Number.isFinite(L0)).toBe(true);
    value.dispose();

    // adapters to check: attention and (where present) MLP, both layers
    const keys = [
      '0.q_proj',
      '1.k_proj',
      '0.v_proj',
      '1.o_proj',
      cfg.mlp === 'swiglu' ? '0.gate_proj' : '0.up_proj',
      '1.down_proj',
    ];
    const rng = mulberry32(objective.length * 97 + cfg.dim);
    const eps = 1e-2;
    let checked = 0;
    let maxRelErr = 0;
    const failures: string[] = [];
    for (const key of keys) {
      const pair = lora.adapters.get(key)!;
      for (const which of ['A', 'B'] as const) {
        const v = pair[which];
        const g = grads[v.name].dataSync() as Float32Array;
        // the largest-|g| coordinate plus three random ones
        let arg = 0;
        for (let i = 1; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[arg])) arg = i;
        const gmax = Math.abs(g[arg]);
        expect(gmax).toBeGreaterThan(1e-5); // a vanishing gradient here would be a bug too
        const coords = [arg, ...Array.from({ length: 2 }, () => Math.floor(rng() * g.length))];
        const orig = v.dataSync().slice() as Float32Array;
        for (const idx of coords) {
          const at = (d: number) => {
            setCoord(v, idx, orig[idx] + d);
            return lossValue(c, objective);
          };
          // central difference; with weights of std 0.1 its O(h²) error at h = 1e-2 is < 1e-3 relative (checked against h = 1e-3)
          const fd = (at(eps) - at(-eps)) / (2 * eps);
          setCoord(v, idx, orig[idx]);
          const err = Math.abs(fd - g[idx]);
          // 1e-2 relative, with a floor for float32 round-off in the differences (≈ 1e-6·|L| / eps)
          const tol = 1e-2 * Math.max(Math.abs(g[idx]), Math.abs(fd)) + 1e-4 * Math.max(1, Math.abs(L0));
          maxRelErr = Math.max(maxRelErr, err / Math.max(Math.abs(g[idx]), 1e-12));
          if (!(err <= tol)) failures.push(`${key}.${which}[${idx}]: analytic ${g[idx]}, finite difference ${fd}`);
          checked++;
        }
      }
    }
    Object.values(grads).forEach((t) => t.dispose());
    tf.dispose([counts, reference ?? []].flat());
    disposeBatch(batch);
    console.log(`${_label} [${backend}] ${objective}: L0 ${L0.toFixed(4)} maxRelErr ${maxRelErr.toExponential(2)}`);
    expect(failures).toEqual([]);
    expect(checked).toBe(keys.length * 2 * 3);
  });
});
