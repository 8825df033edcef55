/**
 * build-pairs: English SFT data → CLO quadruples {x_en, y_en, x_tgt, y_tgt, lang} through a
 * translator, with the multi-component pipeline of docs/methods.md §7 (catalyst + indicator tokens).
 * Translations are cached in a JSON file, so a run that stops (translator down, Ctrl-C) resumes
 * where it stopped when run again with the same --cache.
 */
import { atomicWriteFile, checkOutFile } from '../safe-write';
import { readInputText } from '../input-files';
import { UsageError, helpText, intFlag, parseArgs, type Spec } from '../args';
import { JsonFileStore } from '../json-file-store';
import { englishSftRecords, formatErrors, importSummary } from '../../src/lib/data';
import { DEFAULT_CATALYST, DEFAULT_INDICATORS, validateMultiOptions } from '../../src/lib/translate/multicomponent';
import { LIBRETRANSLATE_DEFAULTS, LibreTranslateTranslator } from '../../src/lib/translate/libretranslate';
import { PairJob } from '../../src/lib/translate/job';
import { cloPairs, jobRecordOf, pairsJsonl } from '../../src/lib/translate/pairs';
import { parallelTranslatorFromText } from '../../src/lib/translate/parallel';
import type { Translator } from '../../src/lib/translate/types';

const SPEC: Spec = {
  data: {
    type: 'string',
    help: 'English SFT data: Alpaca {instruction, input?, output}, {prompt, response}, single-turn chat, or en_* pairs',
    required: true,
  },
  translator: {
    type: 'string',
    help: 'libretranslate:URL or parallel:FILE (paired {en, ko} or en_*/ko_* rows)',
    required: true,
  },
  lang: { type: 'string', help: 'target language code', default: 'ko' },
  source: { type: 'string', help: 'source language code', default: 'en' },
  out: { type: 'string', help: 'output JSONL of {x_en, y_en, x_tgt, y_tgt, lang}', required: true },
  limit: { type: 'number', help: 'use only the first n records', int: true, min: 1 },
  catalyst: { type: 'string', help: 'catalyst statement sent before the parts', default: DEFAULT_CATALYST },
  indicators: {
    type: 'string',
    help: 'indicator tokens for instruction, input, output, comma-separated',
    default: DEFAULT_INDICATORS.join(','),
  },
  cache: { type: 'string', help: 'translation cache file (JSON) for libretranslate; default: <out>.cache.json' },
  concurrency: {
    type: 'number',
    help: 'requests (and records) in flight',
    default: LIBRETRANSLATE_DEFAULTS.concurrency,
    int: true,
    min: 1,
    max: 256,
  },
  'timeout-ms': {
    type: 'number',
    help: 'per-request time limit for libretranslate',
    default: LIBRETRANSLATE_DEFAULTS.timeoutMs,
    int: true,
    min: 1,
    max: 3_600_000,
  },
  retries: {
    type: 'number',
    help: 'retries on 429/5xx/network errors/timeouts (exponential backoff)',
    default: LIBRETRANSLATE_DEFAULTS.retries,
    int: true,
    min: 0,
    max: 100,
  },
  'api-key': { type: 'string', help: 'LibreTranslate API key (or env LIBRETRANSLATE_API_KEY)' },
  json: { type: 'boolean', help: 'print {rows, joint, fallback, failed, status} on stdout' },
  help: { type: 'boolean', help: 'show this help' },
};

const SUMMARY =
  'Builds CLO quadruples from English SFT data (docs/methods.md §7): each record is sent as one text, the catalyst\n' +
  'statement followed by the parts behind indicator tokens, and split back on the indicators; records whose\n' +
  'indicators do not survive are translated part by part ("fallback"). Exit 1 when the translator fails: the\n' +
  'pairs done so far are written and a re-run with the same --cache continues from there.';

function readText(file: string, flag: string): string {
  try {
    return readInputText('build-pairs', flag, file);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(
      `build-pairs: --${flag} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(err)}`,
    );
  }
}

function makeTranslator(spec: string, a: Record<string, unknown>, source: string, target: string): Translator {
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const arg = colon < 0 ? '' : spec.slice(colon + 1);
  if (kind === 'libretranslate' && arg) {
    try {
      return new LibreTranslateTranslator({
        url: arg,
        apiKey: (a['api-key'] as string | undefined) ?? process.env.LIBRETRANSLATE_API_KEY,
        concurrency: intFlag(a as never, 'concurrency', 'build-pairs'),
        timeoutMs: intFlag(a as never, 'timeout-ms', 'build-pairs'),
        retries: intFlag(a as never, 'retries', 'build-pairs', 0),
      });
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`build-pairs: --translator: ${(err as Error).message}`);
    }
  }
  if (kind === 'parallel' && arg) {
    const load = parallelTranslatorFromText(readText(arg, 'translator'), arg, source, target);
    process.stderr.write(
      `parallel corpus ${arg}: ${load.pairs} pairs${load.skipped.length ? `, ${load.skipped.length} rows skipped` : ''}\n`,
    );
    return load.translator;
  }
  throw new UsageError(`build-pairs: --translator must be libretranslate:URL or parallel:FILE, got "${spec}"`);
}

export async function run(argv: string[]): Promise<number> {
  // before parseArgs: --help must work without the required flags
  if (argv.includes('--help') || argv.includes('-h')) return (console.log(helpText('build-pairs', SUMMARY, SPEC)), 0);
  const a = parseArgs(argv, SPEC, 'build-pairs');
  const dataFile = a.data as string;
  const source = a.source as string;
  const lang = a.lang as string;
  const translatorFile = String(a.translator).startsWith('parallel:')
    ? String(a.translator).slice('parallel:'.length)
    : null;
  // every output is checked before any work: never over an input, always somewhere writable
  const inputs = [
    { flag: 'data', path: dataFile },
    { flag: 'translator', path: translatorFile },
  ];
  const out = a.out as string;
  checkOutFile('build-pairs', 'out', out, [...inputs, { flag: 'cache', path: a.cache as string | undefined }]);
  if (a.cache !== undefined)
    checkOutFile('build-pairs', 'cache', a.cache as string, [...inputs, { flag: 'out', path: out }]);
  const indicators = (a.indicators as string).split(',').map((s) => s.trim());
  const multi = { catalyst: a.catalyst as string, indicators };
  try {
    validateMultiOptions(multi, 3);
  } catch (err) {
    throw new UsageError(`build-pairs: --indicators/--catalyst: ${(err as Error).message}`);
  }

  const english = englishSftRecords(readText(dataFile, 'data'), dataFile);
  if (english.rows.length === 0) {
    throw new Error(formatErrors(english, 1)[0] ?? `${dataFile}: no English SFT records`);
  }
  process.stderr.write(importSummary(english) + '\n');
  for (const line of formatErrors(english, 5)) process.stderr.write(`  ${line}\n`);
  const limit = a.limit === undefined ? english.rows.length : intFlag(a, 'limit', 'build-pairs');
  const rows = english.rows.slice(0, limit);

  const translator = makeTranslator(a.translator as string, a, source, lang);
  // lookups (parallel:) cost nothing to repeat: only remote translations are cached
  const cacheFile = translator.id.startsWith('parallel:')
    ? null
    : ((a.cache as string | undefined) ?? `${out}.cache.json`);
  if (cacheFile && a.cache === undefined)
    checkOutFile('build-pairs', 'cache', cacheFile, [...inputs, { flag: 'out', path: out }]);
  const cache = cacheFile ? JsonFileStore.open(cacheFile) : undefined;
  process.stderr.write(
    `translator ${translator.id}, ${source}→${lang}, ${rows.length} records${cache ? `, cache ${cacheFile} (${cache.size} entries)` : ''}\n`,
  );

  let lastShown = -1;
  const job = new PairJob(rows.map(jobRecordOf), {
    translator,
    source,
    target: lang,
    multi,
    cache,
    concurrency: intFlag(a, 'concurrency', 'build-pairs'),
    onProgress: (c) => {
      const pct = Math.floor((100 * c.done) / Math.max(1, c.total));
      if (pct >= lastShown + 10 || c.done === c.total) {
        lastShown = pct;
        process.stderr.write(
          `  ${c.done}/${c.total} records (joint ${c.joint}, fallback ${c.fallback}, failed ${c.failed})\n`,
        );
      }
    },
  });
  const onSigint = (): void => job.pause();
  process.once('SIGINT', onSigint);
  let outcome;
  try {
    outcome = await job.run();
  } finally {
    process.off('SIGINT', onSigint);
    cache?.flush();
  }

  const pairs = cloPairs(rows, job.results, lang);
  // nothing built: --out is left as it was (an earlier file is never replaced by an empty one)
  if (pairs.length > 0) atomicWriteFile(out, pairsJsonl(pairs.map((p) => p.row)));
  const failedLines = job.results.flatMap((r, i) =>
    r?.provenance === 'failed' ? [`  record ${i}: ${r.reason ?? ''}; ${r.error ?? ''}`] : [],
  );
  if (failedLines.length)
    process.stderr.write(`${failedLines.length} records failed:\n${failedLines.slice(0, 10).join('\n')}\n`);
  process.stderr.write(
    pairs.length > 0 ? `wrote ${pairs.length} pairs to ${out}\n` : `no pairs built; ${out} not written\n`,
  );

  const summary = {
    rows: pairs.length,
    joint: outcome.joint,
    fallback: outcome.fallback,
    failed: outcome.failed,
    status: outcome.status,
    out,
  };
  if (a.json) console.log(JSON.stringify(outcome.message ? { ...summary, message: outcome.message } : summary));
  else if (outcome.status === 'done')
    console.log(
      `${pairs.length} pairs (joint ${outcome.joint}, fallback ${outcome.fallback}, failed ${outcome.failed}) → ${out}`,
    );
  if (outcome.status === 'paused') {
    process.stderr.write(
      `error: ${outcome.message}${cacheFile ? ` Re-run with --cache ${cacheFile} to continue.` : ''}\n`,
    );
    return 1;
  }
  if (pairs.length === 0) {
    process.stderr.write(
      `error: no pairs built: all ${rows.length} records failed (first: ${failedLines[0]?.trim() ?? '?'})\n`,
    );
    return 1;
  }
  return 0;
}
