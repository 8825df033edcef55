/**
 * Extends a llama2.c tokenizer (tok512.bin layout) with learned pieces, without touching its encode
 * algorithm: new pieces are appended after the old ids with scores below every old score, in
 * learned order (an earlier merge scores higher). llama2.c merges the highest-scoring adjacent pair
 * first, so all old merges still happen before any new one and new merges happen in the order BPE
 * learned them. New pieces all contain Hangul, so text without Hangul encodes exactly as before.
 */
import { Tok512Tokenizer } from '../tokenizer/tok512';
import type { LearnedPiece } from './learn';

/** Serialises pieces + scores in llama2.c's tokenizer.bin layout. */
export function writeTok512(pieces: string[], scores: ArrayLike<number>, maxTokenLength?: number): Uint8Array {
  const enc = new TextEncoder();
  const bytes = pieces.map((p) => enc.encode(p));
  const maxLen = maxTokenLength ?? Math.max(...bytes.map((b) => b.length));
  const total = 4 + bytes.reduce((n, b) => n + 8 + b.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, maxLen, true);
  let o = 4;
  bytes.forEach((b, i) => {
    dv.setFloat32(o, scores[i], true);
    dv.setInt32(o + 4, b.length, true);
    out.set(b, o + 8);
    o += 8 + b.length;
  });
  return out;
}

export interface Tok512Extension {
  tokenizer: Tok512Tokenizer;
  /** the tokenizer.bin bytes of the extended tokenizer */
  bytes: Uint8Array;
  /** ids of the added pieces, in learned order */
  newIds: number[];
}

export function extendTok512(base: Tok512Tokenizer, learned: LearnedPiece[]): Tok512Extension {
  const pieces = base.pieces.slice();
  const scores = Array.from(base.scores);
  const seen = new Set(pieces);
  let low = Math.min(...scores);
  // Step 1 below the lowest old score; float32 keeps integers exact up to 2^24.
  low = Math.floor(low) - 1;
  const newIds: number[] = [];
  for (const p of learned) {
    if (seen.has(p.piece)) continue;
    seen.add(p.piece);
    newIds.push(pieces.length);
    pieces.push(p.piece);
    scores.push(low--);
  }
  const enc = new TextEncoder();
  const maxLen = Math.max(base.maxTokenLength, ...pieces.map((p) => enc.encode(p).length));
  const bytes = writeTok512(pieces, scores, maxLen);
  return { tokenizer: Tok512Tokenizer.fromBytes(bytes, pieces.length, 'tokenizer.bin (extended)'), bytes, newIds };
}
