/**
 * Log-likelihood requests with the lm-evaluation-harness conventions (docs/methods.md §4):
 * - continuation = " " + choice (the target delimiter);
 * - trailing whitespace of the context moves to the front of the continuation;
 * - encode context + continuation as one text (with BOS), encode the context alone, and take as
 *   continuation tokens the tokens of the whole past the context's length;
 * - the scored sequence is context tokens + continuation tokens, left-truncated to maxSeqLen + 1.
 */
import type { Tokenizer } from '../tokenizer/types';

export const TARGET_DELIMITER = ' ';

/** The item shape of `scoreSequences`: log-prob of ids[start..] each given its prefix. */
export interface ScoreItem {
  ids: number[];
  start: number;
}

/** Moves the context's trailing whitespace to the front of the continuation. */
export function moveTrailingWhitespace(context: string, continuation: string): [string, string] {
  const trimmed = context.replace(/\s+$/u, '');
  const ws = context.slice(trimmed.length);
  return [trimmed, ws + continuation];
}

/** Context and continuation token ids before truncation. */
export function encodePair(
  tok: Tokenizer,
  context: string,
  continuation: string,
): { contextIds: number[]; continuationIds: number[] } {
  const [ctx, cont] = moveTrailingWhitespace(context, continuation);
  const whole = tok.encode(ctx + cont, { bos: true });
  const contextIds = tok.encode(ctx, { bos: true });
  const continuationIds = whole.slice(contextIds.length);
  return { contextIds, continuationIds };
}

/**
 * One scoring item for (context, choice). Throws when the continuation has no tokens of its own
 * or does not fit in maxSeqLen together with at least one context token.
 */
export function buildRequest(tok: Tokenizer, context: string, choice: string, maxSeqLen: number): ScoreItem {
  const { contextIds, continuationIds } = encodePair(tok, context, TARGET_DELIMITER + choice);
  if (continuationIds.length === 0) {
    throw new Error(`choice "${choice}" has no tokens past the context (the tokenizer merged it into the context)`);
  }
  if (continuationIds.length > maxSeqLen) {
    throw new Error(
      `choice "${choice.slice(0, 40)}" is ${continuationIds.length} tokens, longer than the model's ${maxSeqLen}`,
    );
  }
  const ids = [...contextIds, ...continuationIds].slice(-(maxSeqLen + 1));
  return { ids, start: ids.length - continuationIds.length };
}

/** All choices of one item, in choice order (scored together in one batch). */
export function buildChoiceRequests(
  tok: Tokenizer,
  context: string,
  choices: string[],
  maxSeqLen: number,
): ScoreItem[] {
  return choices.map((c) => buildRequest(tok, context, c, maxSeqLen));
}
