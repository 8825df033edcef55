import type { Objective } from './types';
import type { TokenizedSeq } from '../model/batch';
import type { Tokenizer } from '../tokenizer/types';
import { tokenMeanNll } from './common';

/**
 * Continued pretraining (docs/methods.md §8 step 3): causal LM loss, token mean, on every token of
 * raw text. A text row arrives as an SFT row with an empty prompt ({"text": t} → prompt '',
 * response t). The text is encoded with BOS and EOS and cut into windows of maxSeqLen tokens that
 * overlap by one token, so every token after BOS is a target exactly once and long texts are
 * chunked, never dropped. Each window is its own training item.
 */
export function chunkText(tok: Tokenizer, text: string, maxSeqLen: number): TokenizedSeq[] {
  if (maxSeqLen < 2) throw new Error(`max_seq_len ${maxSeqLen} is too short for continued pretraining`);
  const ids = tok.encode(text, { bos: true });
  if (tok.eosId !== null) ids.push(tok.eosId);
  if (ids.length < 2) throw new Error('empty text');
  const out: TokenizedSeq[] = [];
  for (let s = 0; s + 1 < ids.length; s += maxSeqLen - 1) out.push({ ids: ids.slice(s, s + maxSeqLen), start: 1 });
  return out;
}

export const pt: Objective = {
  name: 'pt',
  accepts: ['sft'],
  layout: ['text window'],
  params: {},
  needsReference: false,
  sequences(row) {
    if (row.kind !== 'sft') throw new Error(`PT needs {"text"} rows, got a ${row.kind} row`);
    return [{ prompt: row.prompt, response: row.response }];
  },
  tokenize(tok, row, maxSeqLen) {
    if (row.kind !== 'sft') throw new Error(`PT needs {"text"} rows, got a ${row.kind} row`);
    return chunkText(tok, row.prompt + row.response, maxSeqLen).map((c) => [c]);
  },
  loss(s) {
    const loss = tokenMeanNll(s.policy, s.counts);
    return { loss, metrics: { 'loss/nll': loss } };
  },
};
