/**
 * Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) behind the lab's Tokenizer
 * interface, using @huggingface/tokenizers.
 *
 * BOS: prepended by encode({bos: true}) only when the tokenizer's config says so
 * (tokenizer_config.add_bos_token, else whatever the post-processor adds in front). GPT-2 and
 * Qwen2 add none, so their bosId is null.
 */
import { Tokenizer as HfLibTokenizer } from '@huggingface/tokenizers';
import type { Tokenizer } from './types';

export type TokenizerJson = Record<string, unknown>;
export type TokenizerConfigJson = Record<string, unknown>;

/** `"<s>"` or `{content: "<s>", ...}` → "<s>" */
function tokenString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string')
    return (v as { content: string }).content;
  return null;
}

export interface HfTokenizerOptions {
  /** config.json ids, used when tokenizer_config.json does not name the tokens */
  bosTokenId?: number | null;
  eosTokenId?: number | null;
  fileName?: string;
}

export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly chatTemplate: string | null;
  /** the BOS/EOS tokens as named by the files, even when encode() adds no BOS (e.g. GPT-2's <|endoftext|>) */
  readonly bosTokenId: number | null;
  /** originals, kept so exports can copy them verbatim */
  readonly tokenizerJson: TokenizerJson;
  readonly tokenizerConfig: TokenizerConfigJson;
  private readonly tok: HfLibTokenizer;
  private readonly special: Set<number>;

  constructor(tokenizerJson: TokenizerJson, tokenizerConfig: TokenizerConfigJson = {}, opts: HfTokenizerOptions = {}) {
    const where = opts.fileName ?? 'tokenizer.json';
    if (!tokenizerJson || typeof tokenizerJson !== 'object' || !tokenizerJson.model)
      throw new Error(`${where}: not a tokenizer.json (no "model" field)`);
    this.tokenizerJson = tokenizerJson;
    this.tokenizerConfig = tokenizerConfig;
    try {
      this.tok = new HfLibTokenizer(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new Error(`${where}: cannot build the tokenizer (${(e as Error).message})`, { cause: e });
    }
    const vocab = this.tok.get_vocab(true);
    let maxId = -1;
    for (const id of vocab.values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    this.special = new Set(
      [...this.tok.get_added_tokens_decoder().entries()].filter(([, t]) => t.special).map(([id]) => id),
    );

    const idOf = (key: string, fallback: number | null | undefined): number | null => {
      const s = tokenString(tokenizerConfig[key]);
      if (s !== null) {
        const id = this.tok.token_to_id(s);
        if (id !== undefined) return id;
      }
      return fallback ?? null;
    };
    this.bosTokenId = idOf('bos_token', opts.bosTokenId);
    this.eosId = idOf('eos_token', opts.eosTokenId);

    let addBos: boolean;
    if (typeof tokenizerConfig.add_bos_token === 'boolean') addBos = tokenizerConfig.add_bos_token;
    else {
      // Ask the post-processor: does encoding with special tokens put the BOS in front?
      const withSpecial = this.tok.encode('a', { add_special_tokens: true }).ids;
      const without = this.tok.encode('a', { add_special_tokens: false }).ids;
      addBos = this.bosTokenId !== null && withSpecial.length > without.length && withSpecial[0] === this.bosTokenId;
    }
    this.bosId = addBos ? this.bosTokenId : null;
    const tmpl = tokenizerConfig.chat_template;
    this.chatTemplate =
      typeof tmpl === 'string'
        ? tmpl
        : Array.isArray(tmpl)
          ? (tmpl.find((t: { name?: string }) => t?.name === 'default')?.template ?? null)
          : null;
  }

  /** Builds from the raw bytes of tokenizer.json (and tokenizer_config.json when present). */
  static fromBytes(
    tokenizerJson: Uint8Array,
    tokenizerConfig?: Uint8Array | null,
    opts: HfTokenizerOptions = {},
  ): HfTokenizer {
    const parse = (b: Uint8Array, name: string) => {
      try {
        return JSON.parse(new TextDecoder().decode(b)) as Record<string, unknown>;
      } catch (e) {
        throw new Error(`${name}: invalid JSON (${(e as Error).message})`, { cause: e });
      }
    };
    return new HfTokenizer(
      parse(tokenizerJson, 'tokenizer.json'),
      tokenizerConfig ? parse(tokenizerConfig, 'tokenizer_config.json') : {},
      opts,
    );
  }

  encode(text: string, opts: { bos?: boolean } = {}): number[] {
    const ids = this.tok.encode(text, { add_special_tokens: false }).ids;
    return (opts.bos ?? true) && this.bosId !== null ? [this.bosId, ...ids] : ids;
  }

  decode(ids: number[]): string {
    const kept = ids.filter((id) => !this.special.has(id) && id !== this.bosId && id !== this.eosId);
    if (kept.length === 0) return '';
    return this.tok.decode(kept, { skip_special_tokens: true });
  }

  decodeToken(id: number, prev: number | null): string {
    if (this.special.has(id) || id === this.bosId || id === this.eosId) return '';
    if (prev === null || this.special.has(prev) || prev === this.bosId)
      return this.tok.decode([id], { skip_special_tokens: true });
    // Decode the pair and drop the previous token's text, so leading-space rules (Metaspace,
    // Strip) apply as they would in the middle of a sequence.
    const both = this.tok.decode([prev, id], { skip_special_tokens: true, clean_up_tokenization_spaces: false });
    const first = this.tok.decode([prev], { skip_special_tokens: true, clean_up_tokenization_spaces: false });
    return both.startsWith(first) ? both.slice(first.length) : this.tok.decode([id], { skip_special_tokens: true });
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }
}
