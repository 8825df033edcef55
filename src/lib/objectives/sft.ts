import type { Objective } from './types';
import { tokenMeanNll } from './common';

/** SFT: mean token cross-entropy over the response tokens of the batch. */
export const sft: Objective = {
  name: 'sft',
  accepts: ['sft'],
  layout: ['response'],
  params: {},
  needsReference: false,
  sequences(row) {
    if (row.kind !== 'sft') throw new Error(`SFT needs {prompt, response} rows, got a ${row.kind} row`);
    return [{ prompt: row.prompt, response: row.response }];
  },
  loss(s) {
    const loss = tokenMeanNll(s.policy, s.counts);
    return { loss, metrics: { 'loss/nll': loss } };
  },
};
