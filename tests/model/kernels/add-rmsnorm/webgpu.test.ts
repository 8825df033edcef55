/**
 * The residual add fused with RMSNorm on WebGPU (src/lib/model/kernels/add-rmsnorm/webgpu.ts, Dawn on
 * SwiftShader in Node) against its reference path (addSame, then the RMSNorm reference) on the same backend:
 * the sum, the norm and the gradients of both addends, with the sum used further and without, on rows
 * shorter than the workgroup (64), longer with a tail, and many rows (the cases and the check:
 * ADD_RMSNORM_CASES and checkAddRmsNorm in ../webgpu-cases.ts, which the Chromium check runs too). Without a
 * WebGPU adapter the tests are skipped at run time with a warning, never passed silently.
 * In a model (forward.ts), on a tiny 2-layer model: the CLO loss and LoRA gradients with the fused op equal
 * those of its reference path, with gradient checkpointing and without (a checkpointed block fuses only its
 * middle add; without, each block's last add is fused with the next norm), and the fused kernels ran as
 * often as each form fuses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { forceReference, kernelFor } from '../../../../src/lib/model/kernels/registry';
import { defaultConfig } from '../../../../src/lib/model/config';
import { cloCase, randomSeqs } from '../../../helpers/tiny-models';
import { expectRowsOk, webgpuOrSkip } from '../webgpu-helpers';
import { ADD_RMSNORM_CASES, checkAddRmsNorm } from '../webgpu-cases';

let gpu = false;
beforeAll(async () => {
  gpu = await webgpuOrSkip('add-rmsnorm');
});
afterAll(() => tf.setBackend('cpu'));

describe('the residual add fused with RMSNorm on webgpu', () => {
  for (const c of ADD_RMSNORM_CASES)
    it(`sum, norm, da, db = the reference path (${c.label})`, async (ctx) => {
      if (!gpu) return ctx.skip();
      expect(kernelFor('add-rmsnorm')).toBe('kernel');
      expectRowsOk(await checkAddRmsNorm(c));
    });
});

describe('in a model on webgpu', () => {
  it('CLO loss and LoRA gradients: fused = reference path, with and without checkpointing; kernel counts', async (ctx) => {
    if (!gpu) return ctx.skip();
    const L = 2;
    const cfg = defaultConfig({
      dim: 16,
      nLayers: L,
      nHeads: 4,
      nKvHeads: 2,
      vocabSize: 40,
      hiddenDim: 24,
      maxSeqLen: 16,
    });
    const { vars, loss, dispose } = cloCase(cfg, randomSeqs(4, cfg.vocabSize, 4, 5, 8));
    const run = async (checkpointing: boolean, reference: boolean) => {
      forceReference('add-rmsnorm', reference);
      let out: { value: tf.Scalar; grads: tf.NamedTensorMap } | undefined;
      const prof = await tf.profile(() => {
        out = tf.variableGrads(() => loss(1234, checkpointing), vars);
      });
      forceReference('add-rmsnorm', false);
      const count = (k: string) => prof.kernels.filter((x) => x.name === k).length;
      const grads = await Promise.all(vars.map(async (v) => Float32Array.from(await out!.grads[v.name].data())));
      const value = (await out!.value.data())[0];
      tf.dispose([out!.value, ...Object.values(out!.grads)]);
      return { value, grads, fwd: count('CloLabAddRMSNorm'), bwd: count('CloLabAddRMSNormGrad') };
    };
    const want = await run(false, true);
    expect([want.fwd, want.bwd]).toEqual([0, 0]);
    const scale = Math.max(...want.grads.map((g) => Math.max(...g.map(Math.abs))));
    expect(scale).toBeGreaterThan(1e-3);
    // [checkpointing, fused forward kernels, fused backward kernels]: without checkpointing both adds of each
    // block; with it the middle one, run again when the block is recomputed
    for (const [checkpointing, fwd, bwd] of [
      [false, 2 * L, 2 * L],
      [true, 2 * L, L],
    ] as const) {
      const got = await run(checkpointing, false);
      expect([got.fwd, got.bwd]).toEqual([fwd, bwd]);
      expect(Math.abs(got.value - want.value)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want.value)));
      let d = 0;
      got.grads.forEach((g, i) => g.forEach((x, j) => (d = Math.max(d, Math.abs(x - want.grads[i][j])))));
      expect(d).toBeLessThan(1e-5 * scale);
    }
    dispose();
  });
});
