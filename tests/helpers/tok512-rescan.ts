/**
 * llama2.c's encode() merge loop, the lab's tok512 encoder before the fast merge: rescan for the best pair
 * after every merge (quadratic). The reference the priority-queue encoder is tested against
 * (tests/tokenizer/tok512-fast-merge.test.ts) and timed against (bench/tokenizer-bench.ts).
 */
import type { Tok512Tokenizer } from '../../src/lib/tokenizer/tok512';

export function rescanEncode(tk: Tok512Tokenizer, text: string, bos = true): number[] {
  const pieceToId = new Map<string, number>();
  tk.pieces.forEach((p, i) => {
    if (!pieceToId.has(p)) pieceToId.set(p, i);
  });
  const tokens: number[] = [];
  if (bos) tokens.push(tk.bosId);
  if (text.length === 0) return tokens;
  const start = tokens.length;
  const space = pieceToId.get(' ');
  if (space !== undefined) tokens.push(space);
  const enc = new TextEncoder();
  for (const ch of text) {
    const id = pieceToId.get(ch);
    if (id !== undefined) tokens.push(id);
    else for (const b of enc.encode(ch)) tokens.push(b + 3);
  }
  for (;;) {
    let bestScore = -Infinity;
    let bestId = -1;
    let bestIdx = -1;
    for (let i = start; i < tokens.length - 1; i++) {
      const id = pieceToId.get(tk.pieces[tokens[i]] + tk.pieces[tokens[i + 1]]);
      if (id !== undefined && tk.scores[id] > bestScore) {
        bestScore = tk.scores[id];
        bestId = id;
        bestIdx = i;
      }
    }
    if (bestIdx < 0) break;
    tokens.splice(bestIdx, 2, bestId);
  }
  return tokens;
}
