/**
 * A donor auxiliary space for SALT: an embedding matrix in safetensors plus its vocabulary
 * (vocab.txt, one token per line, id = line number; or a tokenizer.json), matched to the lab's
 * tokens by string. Word-initial pieces are " x" in the lab, "x" in WordPiece (continuations "##x")
 * and "▁x" in SentencePiece; each side is reduced to (word-initial?, text) and matched exactly
 * first, then by text alone.
 */
import { SafetensorsReader } from '../formats/safetensors';

export interface DonorVocab {
  tokens: string[];
  /** 'wordpiece' (## continuations) or 'sentencepiece' (▁ word starts) */
  style: 'wordpiece' | 'sentencepiece';
}

export function parseDonorVocab(bytes: Uint8Array, fileName: string): DonorVocab {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const trimmed = text.trimStart();
  if (fileName.endsWith('.json') || trimmed.startsWith('{')) {
    let j: { model?: { vocab?: Record<string, number> | [string, number][] } };
    try {
      j = JSON.parse(text);
    } catch (e) {
      throw new Error(`${fileName}: invalid JSON (${(e as Error).message})`, { cause: e });
    }
    const v = j.model?.vocab;
    if (!v) throw new Error(`${fileName}: no model.vocab in this tokenizer.json`);
    const tokens: string[] = [];
    if (Array.isArray(v)) v.forEach(([p], i) => (tokens[i] = p));
    else for (const [p, id] of Object.entries(v)) tokens[id] = p;
    for (let i = 0; i < tokens.length; i++) if (tokens[i] === undefined) tokens[i] = '';
    const style = tokens.some((t) => t.startsWith('##')) ? 'wordpiece' : 'sentencepiece';
    return { tokens, style };
  }
  const tokens = text.split(/\r?\n/);
  if (tokens.length && tokens[tokens.length - 1] === '') tokens.pop();
  if (tokens.length === 0) throw new Error(`${fileName}: empty vocabulary`);
  return { tokens, style: 'wordpiece' };
}

export function donorKey(token: string, style: DonorVocab['style']): string {
  if (style === 'wordpiece') return token.startsWith('##') ? 'C' + token.slice(2) : 'W' + token;
  return token.startsWith('\u2581') ? 'W' + token.slice(1) : 'C' + token;
}

export function labKey(piece: string): string {
  return piece.startsWith(' ') || piece.startsWith('\u2581') ? 'W' + piece.slice(1) : 'C' + piece;
}

export interface Donor {
  dim: number;
  /** key → row of the donor matrix */
  byKey: Map<string, Float32Array>;
  /** text (no word-start mark) → row, fallback */
  byText: Map<string, Float32Array>;
  source: string;
}

const NAME_HINTS = ['word_embeddings', 'embed_tokens', 'wte', 'embeddings', 'embedding', 'embed'];

export async function loadDonor(
  matrixBytes: Uint8Array,
  matrixName: string,
  vocabBytes: Uint8Array,
  vocabName: string,
): Promise<Donor> {
  const vocab = parseDonorVocab(vocabBytes, vocabName);
  const reader = await SafetensorsReader.open(matrixBytes, matrixName);
  const two = reader.names().filter((n) => reader.info(n).shape.length === 2);
  if (two.length === 0) throw new Error(`${matrixName}: no 2-D tensor (an embedding matrix [vocab, dim]) in this file`);
  const pick =
    two.length === 1 ? two[0] : (NAME_HINTS.map((h) => two.find((n) => n.includes(h))).find(Boolean) ?? two[0]);
  const { shape, data } = await reader.readFloat(pick);
  const [rows, dim] = shape;
  // Models often pad the matrix past the vocabulary (extra rows are never read); fewer rows is an error.
  if (rows < vocab.tokens.length)
    throw new Error(
      `${matrixName}: tensor "${pick}" has ${rows} rows but ${vocabName} lists ${vocab.tokens.length} tokens (the matrix does not match the vocabulary)`,
    );
  const byKey = new Map<string, Float32Array>();
  const byText = new Map<string, Float32Array>();
  vocab.tokens.forEach((t, i) => {
    if (!t) return;
    const row = data.subarray(i * dim, (i + 1) * dim);
    const key = donorKey(t, vocab.style);
    if (!byKey.has(key)) byKey.set(key, row);
    if (!byText.has(key.slice(1))) byText.set(key.slice(1), row);
  });
  return { dim, byKey, byText, source: `${matrixName} + ${vocabName}` };
}

/** The donor vector of a lab piece: exact (word-start, text) match, else by text alone; null if none. */
export function donorVector(d: Donor, piece: string): Float32Array | null {
  const k = labKey(piece);
  return d.byKey.get(k) ?? d.byText.get(k.slice(1)) ?? null;
}
