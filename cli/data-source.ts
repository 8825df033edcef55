/**
 * `train --data FILE` as rows read on demand: a JSONL file is indexed in one streamed pass
 * (src/lib/data/stream.ts, a progress line on stderr for large files) and each row is read back from
 * the file when the trainer needs it, so a file of any size starts promptly with bounded memory. A JSON
 * array or CSV/TSV file is parsed whole (parseDataFile).
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { detectFormat, parseDataFile, type ParseDataOptions } from '../src/lib/data';
import { rowSource } from '../src/lib/data/rows';
import { stripBom } from '../src/lib/data/parse';
import { JsonlIndexer, type IndexedDataFile } from '../src/lib/data/stream';
import { checkText, invalidUtf8At, loneSurrogateEscapeAt } from './input-files';
import { UsageError } from './args';

const CHUNK = 4 << 20;
/** files above this size say how far the indexing pass is */
const PROGRESS_BYTES = 32 << 20;

export interface OpenedData extends IndexedDataFile {
  /** closes the file the rows are read from */
  close(): void;
}

function countLines(b: Uint8Array, end: number): number {
  let k = 0;
  for (let i = 0; i < end; i++) if (b[i] === 10) k++;
  return k;
}

const mb = (n: number) => (n / 1048576).toFixed(0);

export function openDataFile(path: string, opts: ParseDataOptions, log: (s: string) => void): OpenedData {
  const fd = openSync(path, 'r');
  let closed = false;
  const close = () => {
    if (!closed) closeSync(fd);
    closed = true;
  };
  try {
    const size = statSync(path).size;
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size, 1)));
    const head = readSync(fd, buf, 0, Math.min(buf.length, 65536), 0);
    if (detectFormat(stripBom(buf.toString('utf8', 0, head)), path) !== 'jsonl' || size === 0) {
      close();
      const bytes = new Uint8Array(readFileSync(path));
      const text = Buffer.from(bytes).toString('utf8');
      checkText(path, bytes, text);
      const whole = parseDataFile(text, path, opts);
      return { ...whole, rows: rowSource(whole.rows), close };
    }
    const ix = new JsonlIndexer(path, opts);
    const t0 = performance.now();
    let nextReport = PROGRESS_BYTES;
    // each chunk is checked as it passes: valid UTF-8 (across chunk ends) and no lone surrogate escapes
    const utf8 = new TextDecoder('utf-8', { fatal: true });
    let lines = 1;
    for (let pos = 0; pos < size;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      let text: string;
      try {
        text = utf8.decode(chunk, { stream: true });
      } catch {
        const at = Math.max(0, invalidUtf8At(chunk));
        throw new UsageError(
          `${path}: line ${lines + countLines(chunk, at)}: invalid UTF-8 (at offset ${pos + at}); save the file as UTF-8`,
        );
      }
      const lone = loneSurrogateEscapeAt(text);
      if (lone >= 0)
        throw new UsageError(
          `${path}: line ${lines + text.slice(0, lone).split('\n').length - 1}: ${text.slice(lone, lone + 6)} is half of a UTF-16 surrogate pair (not a character)`,
        );
      lines += countLines(chunk, n);
      ix.push(chunk);
      pos += n;
      if (pos >= nextReport && pos < size) {
        log(`${path}: reading rows, ${mb(pos)} of ${mb(size)} MB (${ix.records} rows so far)`);
        nextReport += PROGRESS_BYTES;
      }
    }
    const out = ix.finish((offset, length) => {
      const b = Buffer.allocUnsafe(length);
      const n = readSync(fd, b, 0, length, offset);
      return b.subarray(0, n);
    });
    if (size >= PROGRESS_BYTES)
      log(`${path}: ${out.total} rows in ${mb(size)} MB read in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return { ...out, close };
  } catch (e) {
    close();
    throw e;
  }
}
