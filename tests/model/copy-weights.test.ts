/**
 * copyWeights (src/lib/model/copy-weights.ts), what the auto pick's second backend trains on: every
 * tensor and every packed matrix copied (a PackedWeight again, same format, bytes and scales), the copy
 * independent of the original (disposing the original leaves it whole), the same logits.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { copyWeights } from '../../src/lib/model/copy-weights';
import { defaultConfig } from '../../src/lib/model/config';
import { randomWeights } from '../../src/lib/model/random';
import { disposeWeights } from '../../src/lib/model/weights';
import { forward } from '../../src/lib/model/forward';
import { PackedWeight } from '../../src/lib/model/packed-base';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('copyWeights', () => {
  for (const base of ['f32', 'int8', 'f16'] as const)
    it(`copies a ${base} base: same classes, same logits, independent of the original`, async () => {
      const config = defaultConfig({ dim: 16, nLayers: 2, nHeads: 2, vocabSize: 40, maxSeqLen: 16 });
      const original = randomWeights(config, 3, 0.1, base);
      const ids = tf.tensor2d([[1, 5, 7, 9, 2]], [1, 5], 'int32');
      const want = forward({ config, weights: original }, ids).dataSync().slice();
      const before = tf.memory().numTensors;
      const copy = await copyWeights(original);
      const added = tf.memory().numTensors - before;
      expect(added).toBeGreaterThan(0);
      for (const [i, layer] of copy.layers.entries())
        for (const [name, lin] of Object.entries(layer.linears)) {
          const from = original.layers[i].linears[name as keyof typeof layer.linears]!.w;
          if (base === 'f32') expect(lin!.w).toBeInstanceOf(tf.Tensor);
          else {
            expect(lin!.w).toBeInstanceOf(PackedWeight);
            expect((lin!.w as PackedWeight).format).toBe(base);
          }
          expect(lin!.w).not.toBe(from);
        }
      disposeWeights(original);
      const got = forward({ config, weights: copy }, ids).dataSync();
      expect(Array.from(got)).toEqual(Array.from(want));
      disposeWeights(copy);
      ids.dispose();
    });
});
