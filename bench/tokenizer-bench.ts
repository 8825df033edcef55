/**
 * Tokenizer speed: Tok512Tokenizer.encode (priority-queue merges) against llama2.c's plain scan
 * (rescan after every merge) on prompts of 1k..100k characters.
 * The scan is only timed up to --scan-max characters (default 20,000): beyond that it takes minutes.
 * Run: node cli/launch.mjs bench/tokenizer-bench.ts [--scan-max N]
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Tok512Tokenizer } from '../src/lib/tokenizer/tok512';
import { STORIES_DIR } from '../cli/node-env';
import { rescanEncode } from '../tests/helpers/tok512-rescan';

export interface TokenizerSpeedRow {
  chars: number;
  tokens: number;
  /** Tok512Tokenizer.encode (priority queue), ms */
  heap_ms: number;
  /** the plain rescan, ms; null where skipped (> scanMax characters) */
  scan_ms: number | null;
}

/** Encodes 1k..100k-character prompts with both encoders (ids must agree); used by `npm run bench`. */
export function tokenizerSpeed(scanMax = 20_000): TokenizerSpeedRow[] {
  const tk = Tok512Tokenizer.fromBytes(new Uint8Array(readFileSync(resolve(STORIES_DIR, 'tok512.bin'))), 512);
  const story =
    'Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine. One day, she saw a big red ball in the park. ';
  const out: TokenizerSpeedRow[] = [];
  for (const n of [1_000, 10_000, 20_000, 100_000]) {
    const text = story.repeat(Math.ceil(n / story.length)).slice(0, n);
    const t0 = performance.now();
    const ids = tk.encode(text);
    const heapMs = performance.now() - t0;
    let scanMs: number | null = null;
    if (n <= scanMax) {
      const t1 = performance.now();
      const ref = rescanEncode(tk, text);
      scanMs = performance.now() - t1;
      if (ref.join() !== ids.join()) throw new Error(`ids differ at ${n} characters`);
    }
    out.push({
      chars: n,
      tokens: ids.length,
      heap_ms: +heapMs.toFixed(1),
      scan_ms: scanMs === null ? null : +scanMs.toFixed(1),
    });
  }
  return out;
}

if (process.argv[1]?.endsWith('tokenizer-bench.ts')) {
  const argi = process.argv.indexOf('--scan-max');
  const scanMax = argi > 0 ? Number(process.argv[argi + 1]) : 20_000;
  const rows = ['chars      tokens   heap ms    scan ms'];
  for (const r of tokenizerSpeed(scanMax))
    rows.push(
      `${String(r.chars).padEnd(10)} ${String(r.tokens).padEnd(8)} ${r.heap_ms.toFixed(1).padStart(8)} ${(r.scan_ms === null ? '(skipped)' : r.scan_ms.toFixed(1)).padStart(10)}`,
    );
  console.log(rows.join('\n'));
}
