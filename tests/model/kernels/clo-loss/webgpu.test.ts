/**
 * The fused CLO loss on WebGPU (src/lib/model/kernels/clo-loss/webgpu.ts, Dawn on SwiftShader in Node) against
 * the objective's tfjs ops (objectives/clo.ts, on the cpu backend): the loss, every metric and d policy, one
 * quadruple and a batch past one workgroup with softplus past its thresholds and a zero margin; and that the
 * objective takes the kernel on webgpu and reads the metrics from its one output (the cases and the check:
 * CLO_LOSS_CASES and checkCloLoss in ../webgpu-cases.ts, which the Chromium check runs too). Without a WebGPU
 * adapter the tests are skipped at run time with a warning, never passed silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { kernelFor } from '../../../../src/lib/model/kernels/registry';
import { clo } from '../../../../src/lib/objectives/clo';
import { expectRowsOk, webgpuOrSkip } from '../webgpu-helpers';
import { checkCloLoss, CLO_LOSS_CASES } from '../webgpu-cases';

let gpu = false;
beforeAll(async () => {
  gpu = await webgpuOrSkip('clo-loss');
});
afterAll(() => tf.setBackend('cpu'));

describe('CLO loss kernel on webgpu', () => {
  for (const c of CLO_LOSS_CASES)
    it(`loss, metrics and d policy = the objective's tfjs ops (${c.label})`, async (ctx) => {
      if (!gpu) return ctx.skip();
      expect(kernelFor('clo-loss')).toBe('kernel');
      expectRowsOk(await checkCloLoss(c));
    });

  it('the metrics: the same names, each a view of the one stacked output', async (ctx) => {
    if (!gpu) return ctx.skip();
    const policy = tf.tensor1d([-3, -4, -5, -6]);
    const reference = tf.tensor1d([-3.5, -3.9, -5.2, -5.8]);
    const counts = tf.tensor1d([2, 3, 4, 5]);
    const o = clo.loss({ policy, reference, counts }, { beta: 0.1, lambda: 0.5 });
    expect(Object.keys(o.metrics)).toEqual([
      'loss/nll',
      'loss/pref',
      'rewards/chosen',
      'rewards/rejected',
      'rewards/margins',
      'rewards/accuracies',
    ]);
    const stacked = await o.stacked!.data();
    expect(await o.metrics['loss/nll'].data()).toEqual(Float32Array.of(stacked[1]));
    expect(await o.metrics['rewards/accuracies'].data()).toEqual(Float32Array.of(stacked[6]));
    expect(stacked[1]).toBeCloseTo(5 / 4, 6);
    tf.dispose([policy, reference, counts, o.loss, o.stacked!, ...Object.values(o.metrics)]);
  });
});
