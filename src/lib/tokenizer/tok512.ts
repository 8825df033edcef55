import type { Tokenizer } from './types';

/**
 * llama2.c tokenizer.bin (e.g. tok512.bin), encoded exactly as docs/methods.md §6 / llama2.c's encode():
 * BOS, dummy-prefix " " when the text is non-empty, one piece per code point (else byte fallback
 * id = byte + 3), then repeatedly merge the adjacent pair with the highest-scoring concatenation.
 * Hand-written: no npm package reads llama2.c's binary tokenizer format.
 */
export class Tok512Tokenizer implements Tokenizer {
  readonly bosId = 1;
  readonly eosId = 2;
  readonly chatTemplate = null;
  private readonly pieceToId = new Map<string, number>();
  private readonly pieceBytes: Uint8Array[];

  private constructor(
    readonly pieces: string[],
    readonly scores: Float32Array,
    readonly maxTokenLength: number,
  ) {
    pieces.forEach((p, i) => {
      if (!this.pieceToId.has(p)) this.pieceToId.set(p, i);
    });
    const enc = new TextEncoder();
    this.pieceBytes = pieces.map((p) => {
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(p);
      return m ? new Uint8Array([parseInt(m[1], 16)]) : enc.encode(p);
    });
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  static fromBytes(bytes: Uint8Array, vocabSize: number, fileName = 'tokenizer.bin'): Tok512Tokenizer {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.byteLength < 4)
      throw new Error(`${fileName}: file too short for a llama2.c tokenizer (${bytes.byteLength} bytes)`);
    const maxLen = dv.getInt32(0, true);
    const dec = new TextDecoder('utf-8');
    const pieces: string[] = [];
    const scores = new Float32Array(vocabSize);
    let off = 4;
    for (let i = 0; i < vocabSize; i++) {
      if (off + 8 > bytes.byteLength)
        throw new Error(`${fileName}: truncated at token ${i} of ${vocabSize} (offset ${off})`);
      scores[i] = dv.getFloat32(off, true);
      const len = dv.getInt32(off + 4, true);
      off += 8;
      if (len < 0 || off + len > bytes.byteLength)
        throw new Error(`${fileName}: token ${i} has length ${len} past the end of the file`);
      pieces.push(dec.decode(bytes.subarray(off, off + len)));
      off += len;
    }
    return new Tok512Tokenizer(pieces, scores, maxLen);
  }

  encode(text: string, opts: { bos?: boolean } = {}): number[] {
    const tokens: number[] = [];
    if (opts.bos !== false) tokens.push(this.bosId);
    if (text.length === 0) return tokens;
    const start = tokens.length;
    const space = this.pieceToId.get(' ');
    if (space !== undefined) tokens.push(space);
    const enc = new TextEncoder();
    for (const ch of text) {
      const id = this.pieceToId.get(ch);
      if (id !== undefined) tokens.push(id);
      else for (const b of enc.encode(ch)) tokens.push(b + 3);
    }
    // Greedy merges over the non-BOS part: always the highest-scoring adjacent pair, the leftmost on ties.
    const merged = this.mergeAll(tokens.slice(start));
    tokens.length = start;
    for (const t of merged) tokens.push(t);
    return tokens;
  }

  /** The merged id of the pair (a, b), or -1 when the concatenation is not a piece or can never win. */
  private pairId(a: number, b: number): number {
    const id = this.pieceToId.get(this.pieces[a] + this.pieces[b]);
    // the plain scan only takes a pair whose score beats -Infinity (so never NaN or -Infinity)
    return id !== undefined && this.scores[id] > -Infinity ? id : -1;
  }

  /**
   * llama2.c's merge loop (take the best pair, merge it, rescan) in O(n log n): the symbols form a
   * linked list, candidate pairs sit in a max-heap ordered by (score desc, position asc), and entries
   * made stale by an earlier merge are skipped when popped. Position = the symbol's first original
   * index, which keeps the list's left-to-right order, so ties go to the leftmost pair as in the scan.
   */
  private mergeAll(sym: number[]): number[] {
    const n = sym.length;
    if (n < 2) return sym;
    const tok = Int32Array.from(sym);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const ver = new Int32Array(n); // bumped when a symbol changes or dies
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new PairHeap();
    const push = (i: number) => {
      if (i < 0) return;
      const j = next[i];
      if (j < 0) return;
      const id = this.pairId(tok[i], tok[j]);
      if (id >= 0) heap.push(this.scores[id], i, j, ver[i], ver[j], id);
    };
    for (let i = 0; i + 1 < n; i++) push(i);
    while (heap.size > 0) {
      const e = heap.pop();
      const i = heap.left[e];
      const j = heap.right[e];
      if (ver[i] !== heap.verL[e] || ver[j] !== heap.verR[e] || next[i] !== j) continue;
      tok[i] = heap.id[e];
      ver[i]++;
      ver[j]++;
      const k = next[j];
      next[i] = k;
      if (k >= 0) prev[k] = i;
      next[j] = -1;
      push(prev[i]);
      push(i);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]) out.push(tok[i]);
    return out;
  }

  private tokenBytes(id: number, prev: number | null): Uint8Array {
    if (id === this.bosId || id === this.eosId || id === 0) return new Uint8Array(0);
    const b = this.pieceBytes[id];
    if (!b) return new Uint8Array(0);
    // llama2.c: strip the leading space of the first piece after BOS (and at the start of the text).
    if ((prev === this.bosId || prev === null) && b.length > 0 && b[0] === 0x20 && !/^<0x/.test(this.pieces[id]))
      return b.subarray(1);
    return b;
  }

  decode(ids: number[]): string {
    const chunks: Uint8Array[] = [];
    let prev: number | null = null;
    let total = 0;
    for (const id of ids) {
      const b = this.tokenBytes(id, prev);
      chunks.push(b);
      total += b.length;
      prev = id;
    }
    const all = new Uint8Array(total);
    let o = 0;
    for (const c of chunks) {
      all.set(c, o);
      o += c.length;
    }
    return new TextDecoder('utf-8').decode(all);
  }

  decodeToken(id: number, prev: number | null): string {
    return new TextDecoder('utf-8').decode(this.tokenBytes(id, prev));
  }
}

/** Binary max-heap of merge candidates, ordered by score (higher first), then position (lower first). */
class PairHeap {
  readonly score: number[] = [];
  readonly left: number[] = [];
  readonly right: number[] = [];
  readonly verL: number[] = [];
  readonly verR: number[] = [];
  readonly id: number[] = [];
  /** heap of entry indices; popped entries are recycled through `free` */
  private readonly h: number[] = [];
  private readonly free: number[] = [];

  get size(): number {
    return this.h.length;
  }

  private before(a: number, b: number): boolean {
    const sa = this.score[a];
    const sb = this.score[b];
    return sa > sb || (sa === sb && this.left[a] < this.left[b]);
  }

  push(score: number, left: number, right: number, verL: number, verR: number, id: number): void {
    const e = this.free.length > 0 ? this.free.pop()! : this.score.length;
    this.score[e] = score;
    this.left[e] = left;
    this.right[e] = right;
    this.verL[e] = verL;
    this.verR[e] = verR;
    this.id[e] = id;
    const h = this.h;
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(e, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = e;
  }

  /** Removes the best entry and returns its index (its fields stay readable until the next push). */
  pop(): number {
    const h = this.h;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && this.before(h[r], h[l]) ? r : l;
        if (!this.before(h[c], last)) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    this.free.push(top);
    return top;
  }
}
