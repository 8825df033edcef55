/** Lookup key after whitespace normalisation: Unicode NFC, runs of whitespace → one space, trimmed. */
export function normalizeWhitespace(text: string): string {
  return text.normalize('NFC').replace(/\s+/gu, ' ').trim();
}
