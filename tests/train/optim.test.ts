/**
 * AdamW, the warmup + cosine schedule and the data sampler against outside references. The numbers
 * below were computed with PyTorch 2 (CPU, float64) and plain Python by scripts/reference-optim.py:
 * - AdamW: torch.optim.AdamW(lr per step 0.1, 0.05, 0.02; betas (0.9, 0.999); eps 1e-8; weight_decay 0.01), three steps with fixed gradients;
 * - schedule: SequentialLR(LinearLR(start_factor=1/3, total_iters=2), CosineAnnealingLR(T_max=12-3-1, eta_min=1e-4), milestones=[3]), lr 1e-3;
 * - sampler: mulberry32 and the Fisher–Yates shuffle re-implemented in Python from their definitions.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW } from '../../src/lib/train/adamw';
import { gradNorm } from '../../src/lib/model/kernels/grad-norm/grad-norm';
import { cosineWithWarmup } from '../../src/lib/train/schedule';
import { EpochSampler } from '../../src/lib/train/sampler';
import { mulberry32 } from '../../src/lib/model/sample';

const close = (got: ArrayLike<number>, want: number[], tol: number) => {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expect(Math.abs(got[i] - w), `[${i}] ${got[i]} vs ${w}`).toBeLessThan(tol));
};

describe('AdamW matches torch.optim.AdamW', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('three steps with per-step lr and decoupled weight decay: parameters and moments', async () => {
    const p1 = tf.variable(tf.tensor1d([0.5, -1.0, 2.0]));
    const p2 = tf.variable(
      tf.tensor2d([
        [0.1, 0.2],
        [-0.3, 0.4],
      ]),
    );
    const opt = new AdamW([p1, p2]);
    const grads: [number[], number[][]][] = [
      [
        [0.3, -0.2, 0.1],
        [
          [1.0, -1.0],
          [0.5, 0.0],
        ],
      ],
      [
        [-0.1, 0.4, 0.05],
        [
          [0.2, 0.3],
          [-0.5, 1.5],
        ],
      ],
      [
        [0.2, 0.2, -0.3],
        [
          [-0.4, 0.1],
          [0.0, -0.2],
        ],
      ],
    ];
    const lrs = [0.1, 0.05, 0.02];
    const before = tf.memory().numTensors;
    grads.forEach(([g1, g2], s) => {
      const g = [tf.tensor1d(g1), tf.tensor2d(g2)];
      opt.apply(g, lrs[s], 0.01, 1);
      g.forEach((x) => x.dispose());
    });
    expect(tf.memory().numTensors).toBe(before + 1); // the flat vector of the last update, kept for flatVars()
    close(await p1.data(), [0.3671517384935262, -0.9270571255914893, 1.8570164153078483], 2e-6);
    close(
      await p2.data(),
      [-0.047131021984403325, 0.32634336330837255, -0.39597550815099736, 0.3524069293814179],
      2e-6,
    );
    const state = await opt.exportState(['p1', 'p2']);
    close(state.m.p1, [0.0353, 0.0398, -0.0174], 1e-7);
    close(state.v.p1, [0.00013981009, 0.00023976004, 0.00010247751], 1e-9);
    expect(state.m.p2).toHaveLength(4);
    expect(opt.t).toBe(3);
    opt.dispose();
    p1.dispose();
    p2.dispose();
  });

  it('flatVars: the variables in order after an update, and after one of them is assigned elsewhere', async () => {
    const a = tf.variable(tf.tensor1d([1, 2]));
    const b = tf.variable(tf.tensor2d([[3], [4]]));
    const opt = new AdamW([a, b]);
    const flatNow = async () => {
      const f = opt.flatVars();
      const v = Array.from(await f.data());
      f.dispose();
      return v;
    };
    expect(await flatNow()).toEqual([1, 2, 3, 4]);
    const g = [tf.tensor1d([1, -1]), tf.tensor2d([[1], [-1]])];
    opt.apply(g, 0.5, 0, 1);
    const after = [...(await a.data()), ...(await b.data())];
    expect(after).not.toEqual([1, 2, 3, 4]);
    expect(await flatNow()).toEqual(after);
    b.assign(tf.tensor2d([[7], [8]]));
    expect(await flatNow()).toEqual([after[0], after[1], 7, 8]);
    tf.dispose([...g, a, b]);
    opt.dispose();
  });

  it('global-norm clipping scale: norm of all gradients together (hand: sqrt(9 + 16 + 144) = 13)', () => {
    const g = [tf.tensor1d([3, 4]), tf.tensor2d([[12]])];
    const flat = AdamW.flatten(g);
    const [clip, norm, gOk, pOk] = gradNorm(flat, flat, 6.5).dataSync();
    expect(norm).toBeCloseTo(13, 5);
    expect(clip).toBeCloseTo(0.5, 5);
    expect([gOk, pOk]).toEqual([1, 1]);
    tf.dispose([...g, flat]);
  });
});

describe('warmup + cosine schedule', () => {
  it('matches LinearLR warmup then CosineAnnealingLR to 0.1·lr at the last step (PyTorch)', () => {
    const want = [
      0.0003333333333333333, 0.0006666666666666666, 0.001, 0.001, 0.000965745789630079, 0.0008681980515339464,
      0.0007222075445642906, 0.00055, 0.00037779245543570966, 0.00023180194846605365, 0.00013425421036992097, 0.0001,
    ];
    close(
      want.map((_, s) => cosineWithWarmup(s, 12, 1e-3, 3, 0.1)),
      want,
      1e-12,
    );
  });

  it('no warmup: starts at lr, halfway point is the mean of lr and the floor (hand)', () => {
    expect(cosineWithWarmup(0, 11, 2, 0, 0)).toBe(2);
    expect(cosineWithWarmup(5, 11, 2, 0, 0)).toBeCloseTo(1, 12);
    expect(cosineWithWarmup(10, 11, 2, 0, 0.25)).toBeCloseTo(0.5, 12);
  });
});

describe('EpochSampler', () => {
  it('mulberry32 draws equal the Python re-implementation', () => {
    const r = mulberry32(42);
    close([r(), r(), r()], [0.6011037519201636, 0.44829055899754167, 0.8524657934904099], 1e-15);
  });

  it('epochs are the seeded permutations computed in Python; batches run across the epoch boundary', () => {
    const s = new EpochSampler(7, 3);
    const e0 = [5, 1, 6, 3, 4, 2, 0];
    const e1 = [5, 6, 3, 2, 0, 4, 1];
    expect(s.batch(0, 7)).toEqual(e0);
    expect(s.batch(1, 7)).toEqual(e1);
    // batch 2 of size 3 = positions 6, 7, 8: last of epoch 0, first two of epoch 1
    expect(s.batch(2, 3)).toEqual([e0[6], e1[0], e1[1]]);
    // a pure function of (seed, position): a fresh sampler agrees, in any call order
    expect(new EpochSampler(7, 3).batch(2, 3)).toEqual([e0[6], e1[0], e1[1]]);
    expect(new EpochSampler(7, 4).batch(0, 7)).not.toEqual(e0);
  });
});
