import * as tf from '@tensorflow/tfjs';
import type { Objective } from './types';
import { pick, tokenMeanNll } from './common';
import { log1mexp, logSigmoid } from './stable';

/**
 * ORPO (docs/methods.md §2): NLL(chosen) + λ·(−log σ(log_odds(c) − log_odds(r))),
 * log_odds(y) = mean_logprob(y) − log1mexp(mean_logprob(y)). No reference model.
 * Reward metrics follow TRL's ORPOTrainer: reward = β·mean_logprob (our choice; the spec defines rewards for DPO/CLO).
 */
export const orpo: Objective = {
  name: 'orpo',
  accepts: ['preference'],
  layout: ['chosen', 'rejected'],
  params: {
    lambda: { default: 0.1, help: 'ORPO: weight of the odds-ratio term' },
    beta: { default: 0.1, help: 'ORPO: scale of the logged rewards only (β·mean log-prob, as TRL)' },
  },
  needsReference: false,
  sequences(row) {
    if (row.kind !== 'preference') throw new Error(`ORPO needs {prompt, chosen, rejected} rows, got a ${row.kind} row`);
    return [
      { prompt: row.prompt, response: row.chosen },
      { prompt: row.prompt, response: row.rejected },
    ];
  },
  loss(s, p) {
    const pc = pick(s.policy, 0, 2);
    const pr = pick(s.policy, 1, 2);
    const cc = pick(s.counts, 0, 2);
    const cr = pick(s.counts, 1, 2);
    const mc = tf.div(pc, cc);
    const mr = tf.div(pr, cr);
    const logOdds = tf.sub(tf.sub(mc, log1mexp(mc)), tf.sub(mr, log1mexp(mr)));
    const orTerm = tf.mean(tf.neg(logSigmoid(logOdds))) as tf.Scalar;
    const nll = tokenMeanNll(pc, cc);
    const loss = tf.add(nll, tf.mul(orTerm, p.lambda)) as tf.Scalar;
    const rc = tf.mul(mc, p.beta);
    const rr = tf.mul(mr, p.beta);
    return {
      loss,
      metrics: {
        'loss/nll': nll,
        'loss/pref': orTerm,
        'rewards/chosen': tf.mean(rc) as tf.Scalar,
        'rewards/rejected': tf.mean(rr) as tf.Scalar,
        'rewards/margins': tf.mean(tf.sub(rc, rr)) as tf.Scalar,
        'rewards/accuracies': tf.mean(tf.cast(tf.greater(rc, rr), 'float32')) as tf.Scalar,
      },
    };
  },
};
