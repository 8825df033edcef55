import type { Tokenizer } from '../../src/lib/tokenizer/types';

/**
 * A tiny tokenizer for eval tests: ids 0 '<unk>', 1 BOS, 2 EOS, then the given pieces from id 3.
 * encode: one piece per character, then repeatedly merge the adjacent pair whose concatenation is
 * a piece, preferring the merge listed first in `merges` (no dummy prefix). BOS is never merged.
 */
export class FakeTokenizer implements Tokenizer {
  readonly bosId = 1;
  readonly eosId = 2;
  readonly pieces: string[];
  private readonly ids = new Map<string, number>();

  constructor(
    chars: string[],
    private readonly merges: string[] = [],
  ) {
    this.pieces = ['<unk>', '<s>', '</s>', ...chars, ...merges];
    this.pieces.forEach((p, i) => this.ids.set(p, i));
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  id(piece: string): number {
    const v = this.ids.get(piece);
    if (v === undefined) throw new Error(`no piece "${piece}"`);
    return v;
  }

  encode(text: string, opts: { bos?: boolean } = {}): number[] {
    const toks = [...text].map((ch) => this.ids.get(ch) ?? 0);
    for (;;) {
      let best = -1;
      let rank = Infinity;
      for (let i = 0; i + 1 < toks.length; i++) {
        const r = this.merges.indexOf(this.pieces[toks[i]] + this.pieces[toks[i + 1]]);
        if (r >= 0 && r < rank) {
          rank = r;
          best = i;
        }
      }
      if (best < 0) break;
      toks.splice(best, 2, this.ids.get(this.merges[rank]) as number);
    }
    return opts.bos === false ? toks : [this.bosId, ...toks];
  }

  decode(ids: number[]): string {
    return ids
      .filter((i) => i > 2)
      .map((i) => this.pieces[i])
      .join('');
  }

  decodeToken(id: number): string {
    return id > 2 ? this.pieces[id] : '';
  }
}
