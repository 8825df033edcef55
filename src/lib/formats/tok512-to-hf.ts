/**
 * llama2.c `tokenizer.bin` (tok512) → Hugging Face `tokenizer.json` + `tokenizer_config.json`,
 * SentencePiece/Llama style: BPE with byte fallback, spaces shown as "▁", a "▁" prepended to
 * non-empty text, BOS added by a TemplateProcessing post-processor.
 *
 * Why it encodes like llama2.c: llama2.c repeatedly merges the adjacent pair whose concatenation
 * has the highest score (leftmost on ties). Here every vocab piece p of two or more characters
 * yields one BPE merge (a, b) per split p = a + b with a, b both in the vocab, ranked by the
 * score of p (highest first). HF BPE merges the lowest-ranked pair (leftmost on ties), i.e.
 * the same pair. Scores in tok512 are distinct, so ranks never tie between different pieces.
 * Characters missing from the vocab fall back to <0xHH> byte pieces in both.
 * The one known difference: HF splits literal special-token text ("<s>", "</s>", "<unk>") out of
 * the input as special tokens, llama2.c encodes those characters as text.
 */

export interface Tok512Piece {
  piece: string;
  score: number;
}

/** Parses tokenizer.bin: int32 max_token_length, then per id float32 score, int32 len, bytes. */
export function parseTok512(bytes: Uint8Array, vocabSize: number, fileName = 'tok512.bin'): Tok512Piece[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dec = new TextDecoder('utf-8');
  let o = 4;
  const out: Tok512Piece[] = [];
  for (let i = 0; i < vocabSize; i++) {
    if (o + 8 > bytes.length) throw new Error(`${fileName}: ends at token ${i} of ${vocabSize}`);
    const score = dv.getFloat32(o, true);
    const len = dv.getInt32(o + 4, true);
    o += 8;
    if (len < 0 || o + len > bytes.length) throw new Error(`${fileName}: token ${i} has bad length ${len}`);
    out.push({ piece: dec.decode(bytes.subarray(o, o + len)), score });
    o += len;
  }
  return out;
}

const SPACE = '\u2581';
const BYTE_RE = /^<0x[0-9A-F]{2}>$/;

export interface HfTokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  specialTokensMap: Record<string, unknown>;
}

/**
 * Builds the HF tokenizer files. Ids 0, 1, 2 are renamed to the usual "<unk>", "<s>", "</s>"
 * (llama2.c's pieces are "<unk>", "\n<s>\n", "\n</s>\n").
 */
export function tok512ToHfTokenizer(
  pieces: Tok512Piece[],
  opts: { bosId?: number; eosId?: number; unkId?: number; maxLength?: number } = {},
): HfTokenizerFiles {
  const bos = opts.bosId ?? 1;
  const eos = opts.eosId ?? 2;
  const unk = opts.unkId ?? 0;
  const names = pieces.map((p, i) =>
    i === unk ? '<unk>' : i === bos ? '<s>' : i === eos ? '</s>' : p.piece.replaceAll(' ', SPACE),
  );
  const vocab: Record<string, number> = {};
  names.forEach((n, i) => {
    if (n in vocab) throw new Error(`tokenizer: piece ${JSON.stringify(n)} appears twice (ids ${vocab[n]} and ${i})`);
    vocab[n] = i;
  });
  const special = new Set([unk, bos, eos]);
  const merges: { a: string; b: string; score: number; id: number }[] = [];
  names.forEach((p, id) => {
    if (special.has(id) || BYTE_RE.test(p)) return;
    const chars = Array.from(p);
    for (let k = 1; k < chars.length; k++) {
      const a = chars.slice(0, k).join('');
      const b = chars.slice(k).join('');
      if (a in vocab && b in vocab && !special.has(vocab[a]) && !special.has(vocab[b]))
        merges.push({ a, b, score: pieces[id].score, id });
    }
  });
  merges.sort((x, y) => y.score - x.score || x.id - y.id);
  const added = [unk, bos, eos]
    .sort((x, y) => x - y)
    .map((id) => ({
      id,
      content: names[id],
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    }));
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: SPACE },
        { type: 'Replace', pattern: { String: ' ' }, content: SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [bos], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: merges.map((m) => [m.a, m.b]),
    },
  };
  const tokenizerConfig = {
    tokenizer_class: 'LlamaTokenizerFast',
    add_bos_token: true,
    add_eos_token: false,
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: null,
    clean_up_tokenization_spaces: false,
    legacy: true,
    model_max_length: opts.maxLength ?? 512,
  };
  const specialTokensMap = { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' };
  return { tokenizerJson, tokenizerConfig, specialTokensMap };
}
