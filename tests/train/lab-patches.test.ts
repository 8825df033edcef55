/**
 * The lab's changes to tfjs come from one explicit call (installLabKernels, src/lib/model/kernels/install.ts),
 * never as a side effect: creating a Trainer leaves tfjs's engine.gradients as it is; after the call
 * the eager backward (src/lib/model/backprop.ts) is in its place.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { loadStories } from '../helpers/helpers';
import { Trainer } from '../../src/lib/train/trainer';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import { uninstallEagerBackward } from '../../src/lib/model/backprop';
import { installLabKernels } from '../../src/lib/model/kernels/install';

afterAll(() => uninstallEagerBackward());

describe('patches to tfjs', () => {
  it('a Trainer does not change the engine; installLabKernels does', async () => {
    expect(await tf.setBackend('cpu')).toBe(true);
    uninstallEagerBackward();
    const engine = tf.engine() as unknown as { gradients: unknown };
    const tfjsGradients = engine.gradients;
    const model = loadStories();
    const trainer = Trainer.create(model, [{ kind: 'sft', prompt: 'a', response: 'b' }], defaultTrainConfig('sft'));
    expect(engine.gradients).toBe(tfjsGradients);
    trainer.dispose();
    installLabKernels('cpu');
    expect(engine.gradients).not.toBe(tfjsGradients);
    installLabKernels('cpu'); // idempotent: the same replacement
    const installed = engine.gradients;
    installLabKernels('cpu');
    expect(engine.gradients).toBe(installed);
    uninstallEagerBackward();
    expect(engine.gradients).toBe(tfjsGradients);
  });
});
