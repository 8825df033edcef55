import * as tf from '@tensorflow/tfjs';
import type { Objective, ObjectiveOutput, ObjectiveParams, SeqStats } from './types';
import { dpoTerms, pick, tokenMeanNll } from './common';
import { kernelFor } from '../model/kernels/registry';
import { CLO_LOSS_VALUES, kernelCloLoss } from '../model/kernels/clo-loss/clo-loss';

/** CLO's metrics, by the name of the fused kernel's value that holds each (model/kernels/clo-loss/). */
const METRICS: Record<string, (typeof CLO_LOSS_VALUES)[number]> = {
  'loss/nll': 'nll',
  'loss/pref': 'pref',
  'rewards/chosen': 'chosen',
  'rewards/rejected': 'rejected',
  'rewards/margins': 'margins',
  'rewards/accuracies': 'accuracies',
};

/**
 * CLO (docs/methods.md §2): per quadruple four sequences, in this order:
 *   0 (x_en, y_en) chosen   1 (x_en, y_tgt) rejected      — English query
 *   2 (x_tgt, y_tgt) chosen 3 (x_tgt, y_en) rejected      — target-language query
 * L_CL = mean DPO loss over the 2B pairs; NLL_target = token-mean CE of y_tgt given x_tgt only;
 * L = λ·NLL_target + (1 − λ)·L_CL.
 * Where the kernel registry has the fused CLO loss for the backend (webgpu), one kernel computes the
 * loss and its metrics and one its gradient (model/kernels/clo-loss/); else the tfjs ops below.
 */
export const clo: Objective = {
  name: 'clo',
  accepts: ['clo'],
  layout: ['(x_en, y_en) chosen', '(x_en, y_tgt) rejected', '(x_tgt, y_tgt) chosen', '(x_tgt, y_en) rejected'],
  params: {
    lambda: {
      default: 0.5,
      help: 'CLO: weight of NLL on the target-language answer (1 − λ weighs the cross-lingual preference loss)',
    },
    beta: {
      default: 0.1,
      help: 'CLO: preference temperature (how far the policy may move from the reference, adapter off)',
    },
  },
  needsReference: true,
  sequences(row) {
    if (row.kind !== 'clo') throw new Error(`CLO needs {x_en, y_en, x_tgt, y_tgt} rows, got a ${row.kind} row`);
    return [
      { prompt: row.xEn, response: row.yEn },
      { prompt: row.xEn, response: row.yTgt },
      { prompt: row.xTgt, response: row.yTgt },
      { prompt: row.xTgt, response: row.yEn },
    ];
  },
  loss(s, p) {
    if (!s.reference) throw new Error('CLO needs reference log-probs');
    if (kernelFor('clo-loss') === 'kernel') return fusedClo(s, s.reference, p);
    // Chosen = sequences 0 and 2 of each group of 4, rejected = 1 and 3; concat keeps the pairs aligned.
    const both = (x: tf.Tensor1D, a: number, b: number) => tf.concat([pick(x, a, 4), pick(x, b, 4)]) as tf.Tensor1D;
    const t = dpoTerms(
      both(s.policy, 0, 2),
      both(s.policy, 1, 3),
      both(s.reference, 0, 2),
      both(s.reference, 1, 3),
      p.beta,
    );
    const nll = tokenMeanNll(pick(s.policy, 2, 4), pick(s.counts, 2, 4));
    const loss = tf.add(tf.mul(nll, p.lambda), tf.mul(t.loss, 1 - p.lambda)) as tf.Scalar;
    return { loss, metrics: { 'loss/nll': nll, 'loss/pref': t.loss, ...t.metrics } };
  },
};

/**
 * The fused kernel's loss, and its values [loss, ...metrics] as `stacked` (in METRICS' order, the
 * reference path's); each metric scalar is sliced from them only if read.
 */
function fusedClo(s: SeqStats, reference: tf.Tensor1D, p: ObjectiveParams): ObjectiveOutput {
  const { loss, values } = kernelCloLoss(s.policy, reference, s.counts, { beta: p.beta, lambda: p.lambda });
  const names = Object.keys(METRICS);
  const at = names.map((k) => CLO_LOSS_VALUES.indexOf(METRICS[k]));
  // values are laid out as [loss, ...metrics in METRICS' order]: the stacked vector as it is
  if (at.some((i, j) => i !== j + 1)) throw new Error('CLO loss: the kernel values are not in metric order');
  const metrics: Record<string, tf.Scalar> = {};
  const made = new Map<string, tf.Scalar>();
  names.forEach((k, j) =>
    Object.defineProperty(metrics, k, {
      enumerable: true,
      get: () => {
        let m = made.get(k);
        if (!m || m.isDisposed) made.set(k, (m = tf.slice(values, [at[j]], [1]).reshape([]) as tf.Scalar));
        return m;
      },
    }),
  );
  return { loss, metrics, stacked: values };
}
