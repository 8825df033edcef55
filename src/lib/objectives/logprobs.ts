/**
 * Batching and per-token log-probs are model-level and live in `src/lib/model/batch.ts` and
 * `src/lib/model/logprobs.ts`; re-exported here so existing imports keep working. Nothing
 * objective-specific remains in this file.
 */
export { tokenizePair, packBatch, disposeBatch, type TokenizedSeq, type PackedBatch } from '../model/batch';
export { tokenLogprobs, sequenceLogprobs, maskedTokenLogprobs, headLogprobs } from '../model/logprobs';
