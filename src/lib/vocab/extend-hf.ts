/**
 * Extends a Hugging Face tokenizer.json with learned pieces.
 *  - BPE models that see spaces as "▁" and fall back to bytes (Llama/Mistral SentencePiece style,
 *    and the lab's own export of tok512): each piece joins `model.vocab` at the next free id
 *    (spaces written "▁"), and each merged piece appends its merge (a, b) after every old merge,
 *    so old merges keep their priority and new ones keep their learned order.
 *  - any other model (byte-level BPE such as GPT-2/Qwen2, WordPiece, Unigram): the pieces become
 *    non-special added tokens, matched in the raw text before the model runs.
 * Pieces already in the vocabulary (or already added tokens) are not added again.
 */
import type { LearnedPiece } from './learn';

type Json = Record<string, unknown>;

const SPACE = '\u2581';

function usesMetaspace(tj: Json): boolean {
  const s = JSON.stringify([tj.normalizer ?? null, tj.pre_tokenizer ?? null]);
  return s.includes('Metaspace') || s.includes(SPACE);
}

export interface HfExtension {
  tokenizerJson: Json;
  newIds: number[];
  /** 'merges' (BPE vocab + merges) or 'added_tokens' */
  mode: 'merges' | 'added_tokens';
}

/** `firstId`: the first id to use (at least the model's vocab_size, so padded rows are skipped). */
export function extendHfTokenizerJson(
  tokenizerJson: Json,
  learned: LearnedPiece[],
  firstId = 0,
  where = 'tokenizer.json',
): HfExtension {
  const tj = structuredClone(tokenizerJson) as Json;
  const model = tj.model as Json | undefined;
  if (!model || typeof model !== 'object') throw new Error(`${where}: no "model" field`);
  const vocab = (model.vocab ?? {}) as Record<string, number> | [string, number][];
  const added = (Array.isArray(tj.added_tokens) ? tj.added_tokens : []) as { id: number; content: string }[];
  let next = firstId;
  const taken = new Set<string>();
  const take = (piece: string, id: number) => {
    taken.add(piece);
    next = Math.max(next, id + 1);
  };
  if (Array.isArray(vocab)) vocab.forEach(([p], i) => take(p, i));
  else for (const [p, id] of Object.entries(vocab)) take(p, id);
  for (const a of added) take(a.content, a.id);
  const newIds: number[] = [];
  if (model.type === 'BPE' && !Array.isArray(vocab) && model.byte_fallback === true && usesMetaspace(tj)) {
    const merges = (model.merges ?? []) as (string | [string, string])[];
    const stringMerges = merges.length > 0 && typeof merges[0] === 'string';
    const name = (p: string) => p.replaceAll(' ', SPACE);
    for (const p of learned) {
      const n = name(p.piece);
      if (taken.has(n)) continue;
      taken.add(n);
      vocab[n] = next;
      newIds.push(next++);
      if (p.merge) {
        const [a, b] = p.merge.map(name);
        merges.push(stringMerges ? `${a} ${b}` : [a, b]);
      }
    }
    model.merges = merges;
    return { tokenizerJson: tj, newIds, mode: 'merges' };
  }
  for (const p of learned) {
    if (taken.has(p.piece)) continue;
    taken.add(p.piece);
    added.push({
      id: next,
      content: p.piece,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: false,
    } as { id: number; content: string });
    newIds.push(next++);
  }
  tj.added_tokens = added;
  return { tokenizerJson: tj, newIds, mode: 'added_tokens' };
}
