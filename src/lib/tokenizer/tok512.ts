import type { Tokenizer } from './types';

/**
 * llama2.c tokenizer.bin (e.g. tok512.bin), encoded exactly as methods.md §6 / llama2.c's encode():
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
    if (bytes.byteLength < 4) throw new Error(`${fileName}: file too short for a llama2.c tokenizer (${bytes.byteLength} bytes)`);
    const maxLen = dv.getInt32(0, true);
    const dec = new TextDecoder('utf-8');
    const pieces: string[] = [];
    const scores = new Float32Array(vocabSize);
    let off = 4;
    for (let i = 0; i < vocabSize; i++) {
      if (off + 8 > bytes.byteLength) throw new Error(`${fileName}: truncated at token ${i} of ${vocabSize} (offset ${off})`);
      scores[i] = dv.getFloat32(off, true);
      const len = dv.getInt32(off + 4, true);
      off += 8;
      if (len < 0 || off + len > bytes.byteLength) throw new Error(`${fileName}: token ${i} has length ${len} past the end of the file`);
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
    // Greedy merges over the non-BOS part.
    for (;;) {
      let bestScore = -Infinity;
      let bestId = -1;
      let bestIdx = -1;
      for (let i = start; i < tokens.length - 1; i++) {
        const id = this.pieceToId.get(this.pieces[tokens[i]] + this.pieces[tokens[i + 1]]);
        if (id !== undefined && this.scores[id] > bestScore) {
          bestScore = this.scores[id];
          bestId = id;
          bestIdx = i;
        }
      }
      if (bestIdx < 0) break;
      tokens.splice(bestIdx, 2, bestId);
    }
    return tokens;
  }

  private tokenBytes(id: number, prev: number | null): Uint8Array {
    if (id === this.bosId || id === this.eosId || id === 0) return new Uint8Array(0);
    const b = this.pieceBytes[id];
    if (!b) return new Uint8Array(0);
    // llama2.c: strip the leading space of the first piece after BOS (and at the start of the text).
    if ((prev === this.bosId || prev === null) && b.length > 0 && b[0] === 0x20 && !/^<0x/.test(this.pieces[id])) return b.subarray(1);
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
