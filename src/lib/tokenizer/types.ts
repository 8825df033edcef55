/** One interface for every tokenizer the lab uses (llama2.c tok512, Hugging Face tokenizer.json). */
export interface Tokenizer {
  readonly vocabSize: number;
  /** id prepended by encode({bos: true}); null when the tokenizer has none */
  readonly bosId: number | null;
  /** id appended after training responses; null when none */
  readonly eosId: number | null;
  /** Encode text. `bos` (default true) prepends BOS where the tokenizer has one. */
  encode(text: string, opts?: { bos?: boolean }): number[];
  decode(ids: number[]): string;
  /** Text of a single token for streaming; `prev` is the previous id (for leading-space rules). */
  decodeToken(id: number, prev: number | null): string;
  /** Optional chat template (Hugging Face tokenizer_config.json). */
  readonly chatTemplate?: string | null;
}
