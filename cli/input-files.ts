/**
 * Input files read with bounds: a data, corpus or prompt file must be a regular file (not a folder,
 * device, pipe or socket, which can be endless), no larger than a cap (CLO_MAX_INPUT_MB raises it), and
 * valid UTF-8 without lone surrogates (`\ud800` escapes in JSON); each refusal names the file and, for
 * text, the line.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { UsageError } from './args';

/** Files read whole (JSON, CSV, plain text): the largest a JavaScript string holds comfortably. */
export const WHOLE_FILE_MAX_BYTES = 512 << 20;
/** JSONL files indexed in a streamed pass (cli/data-source.ts). */
export const STREAMED_FILE_MAX_BYTES = 64 * 2 ** 30;

function capBytes(def: number): number {
  const mb = Number(process.env.CLO_MAX_INPUT_MB);
  return Number.isFinite(mb) && mb > 0 ? mb * 2 ** 20 : def;
}

/** Checks `--flag PATH` names a regular file within the size cap; returns its size. */
export function checkInputFile(command: string, flag: string, path: string | undefined, maxBytes: number): number {
  const label = `${command}: flag --${flag}`;
  if (path === undefined || path === '') throw new UsageError(`${label} needs a file, got ""`);
  if (!existsSync(path)) throw new UsageError(`${label}: file not found: ${path}`);
  const st = statSync(path);
  if (st.isDirectory()) throw new UsageError(`${label}: ${path} is a folder, not a file`);
  if (!st.isFile())
    throw new UsageError(`${label}: ${path} is not a regular file (a device, pipe or socket); give a file`);
  const cap = capBytes(maxBytes);
  if (st.size > cap)
    throw new UsageError(
      `${label}: ${path} is ${(st.size / 2 ** 20).toFixed(0)} MB, above the ${(cap / 2 ** 20).toFixed(0)} MB this input may have (CLO_MAX_INPUT_MB raises it)`,
    );
  return st.size;
}

/** 1-based line of byte `offset` in `bytes`. */
function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < bytes.length; i++) if (bytes[i] === 10) line++;
  return line;
}

/** Where `bytes` stops being valid UTF-8, or -1. */
export function invalidUtf8At(bytes: Uint8Array): number {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return -1;
  } catch {
    // a valid prefix survives a lossy round trip byte for byte; the first difference is the first bad byte
    const round = Buffer.from(Buffer.from(bytes).toString('utf8'), 'utf8');
    let i = 0;
    while (i < bytes.length && i < round.length && bytes[i] === round[i]) i++;
    return i;
  }
}

/** A JSON `\uD800`-`\uDFFF` escape that is not half of a pair, as text; its index or -1. */
export function loneSurrogateEscapeAt(text: string): number {
  const re = /\\u([dD][89abAB][0-9a-fA-F]{2})(\\u[dD][c-fC-F][0-9a-fA-F]{2})?|\\u[dD][c-fC-F][0-9a-fA-F]{2}/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    // a high escape followed by a low one is a pair; anything else is lone
    if (m[1] === undefined || m[2] === undefined) {
      // an escaped backslash before it ("\\ud800") is text, not an escape
      let bs = 0;
      for (let j = m.index - 1; j >= 0 && text[j] === '\\'; j--) bs++;
      if (bs % 2 === 0) return m.index;
    }
  }
  return -1;
}

/** Refuses invalid UTF-8 and (in JSON text) lone surrogate escapes, naming the file and line. */
export function checkText(path: string, bytes: Uint8Array, text: string): void {
  const bad = invalidUtf8At(bytes);
  if (bad >= 0)
    throw new UsageError(
      `${path}: line ${lineAt(bytes, bad)}: invalid UTF-8 (byte 0x${bytes[bad].toString(16).padStart(2, '0')} at offset ${bad}); save the file as UTF-8`,
    );
  // \uXXXX is an escape only in JSON (a file that starts with { or [); elsewhere it is text
  const lone = /^\s*[[{]/.test(text.slice(0, 4096)) ? loneSurrogateEscapeAt(text) : -1;
  if (lone >= 0) {
    const line = text.slice(0, lone).split('\n').length;
    throw new UsageError(
      `${path}: line ${line}: ${text.slice(lone, lone + 6)} is half of a UTF-16 surrogate pair (not a character)`,
    );
  }
}

/** A text input read whole: a regular file within the cap, valid UTF-8. */
export function readInputText(command: string, flag: string, path: string | undefined): string {
  checkInputFile(command, flag, path, WHOLE_FILE_MAX_BYTES);
  const bytes = new Uint8Array(readFileSync(path!));
  const text = Buffer.from(bytes).toString('utf8');
  checkText(path!, bytes, text);
  return text;
}

/** A binary input read whole: a regular file within the cap. */
export function readInputBytes(command: string, flag: string, path: string | undefined): Uint8Array {
  checkInputFile(command, flag, path, WHOLE_FILE_MAX_BYTES);
  return new Uint8Array(readFileSync(path!));
}
