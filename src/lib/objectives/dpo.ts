import type { Objective } from './types';
import { dpoTerms, pick } from './common';

/** DPO (docs/methods.md §2): sequences per row = [chosen, rejected]; πref = adapter off. */
export const dpo: Objective = {
  name: 'dpo',
  accepts: ['preference'],
  layout: ['chosen', 'rejected'],
  params: {
    beta: {
      default: 0.1,
      help: 'DPO: preference temperature (how far the policy may move from the reference, adapter off)',
    },
  },
  needsReference: true,
  sequences(row) {
    if (row.kind !== 'preference') throw new Error(`DPO needs {prompt, chosen, rejected} rows, got a ${row.kind} row`);
    return [
      { prompt: row.prompt, response: row.chosen },
      { prompt: row.prompt, response: row.rejected },
    ];
  },
  loss(s, p) {
    if (!s.reference) throw new Error('DPO needs reference log-probs');
    const t = dpoTerms(
      pick(s.policy, 0, 2),
      pick(s.policy, 1, 2),
      pick(s.reference, 0, 2),
      pick(s.reference, 1, 2),
      p.beta,
    );
    return { loss: t.loss, metrics: { 'loss/pref': t.loss, ...t.metrics } };
  },
};
