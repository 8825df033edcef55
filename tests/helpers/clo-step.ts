import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../src/lib/model/config';
import { randomWeights } from '../../src/lib/model/random';
import { disposeWeights } from '../../src/lib/model/weights';
import { packFrozenBase, type BaseFormat } from '../../src/lib/model/packed-base';
import { mulberry32 } from '../../src/lib/model/sample';
import type { TokenizedSeq } from '../../src/lib/model/batch';
import { Trainer } from '../../src/lib/train/trainer';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import { FakeTokenizer } from './fake-tokenizer';

export interface RandomCloStep {
  loss: number;
  ms: number;
  peakBytes: number;
  /** the tfjs kernels the step ran, in order */
  kernels: string[];
}

/**
 * One CLO LoRA step (r 8 on q, k, v, o, no dropout) of a model of `config` with random weights from
 * `weightSeed` (the same values for every base: a packed base is that f32 model packed), on one fixed CLO
 * group of 4 random sequences of T tokens (`dataSeed`), on the current backend; profiled.
 */
export async function randomCloStep(
  config: ModelConfig,
  base: BaseFormat,
  o: { T: number; weightSeed: number; dataSeed: number },
): Promise<RandomCloStep> {
  const weights = randomWeights(config, o.weightSeed);
  const model = { name: 'random', source: 'random' as const, config, weights, tokenizer: new FakeTokenizer(['a']) };
  if (base !== 'f32') packFrozenBase(model, base);
  const rng = mulberry32(o.dataSeed);
  const seqs: TokenizedSeq[] = Array.from({ length: 4 }, () => ({
    ids: Array.from({ length: o.T }, () => 3 + Math.floor(rng() * (config.vocabSize - 3))),
    start: o.T / 2,
  }));
  const cfg = defaultTrainConfig('clo', {
    batchSize: 1,
    maxSeqLen: o.T,
    steps: 10,
    lora: { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], init: 'gaussian' },
  });
  const row = { kind: 'clo' as const, xEn: 'a', yEn: 'b', xTgt: 'c', yTgt: 'd', lang: 'ko' };
  const trainer = Trainer.create(model, [row], cfg);
  let loss = NaN;
  const t0 = performance.now();
  const prof = await tf.profile(async () => {
    loss = (await trainer.step([seqs])).loss;
  });
  const ms = performance.now() - t0;
  trainer.dispose();
  disposeWeights(model.weights);
  return { loss, ms, peakBytes: prof.peakBytes, kernels: prof.kernels.map((k) => k.name) };
}
