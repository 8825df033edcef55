/**
 * What a generation shows of its decoded text. Byte-fallback tokens (tok512's `<0xHH>`, byte-level
 * BPE) spell a character over several tokens, and a sampled model also emits bytes that never form
 * one. The decoders turn both into U+FFFD. Shown text keeps neither:
 * - a U+FFFD at the end may be a character still arriving: held back while streaming, dropped at
 *   the end;
 * - a U+FFFD inside the text is bytes that can no longer complete: dropped;
 * - C0 control characters other than tab and newline (bytes 0x00–0x1F spelled by byte tokens) and
 *   DEL: dropped.
 */

const REPLACEMENT = '\uFFFD';
// eslint-disable-next-line no-control-regex -- the control characters are what this removes
const CONTROLS = /[\u0000-\u0008\u000B-\u001F\u007F]/g;

/** The text to show: `final` false while tokens still arrive (a trailing U+FFFD is held back). */
export function visibleText(decoded: string, final: boolean): string {
  let end = decoded.length;
  if (!final) while (end > 0 && decoded[end - 1] === REPLACEMENT) end--;
  return decoded.slice(0, end).split(REPLACEMENT).join('').replace(CONTROLS, '');
}
