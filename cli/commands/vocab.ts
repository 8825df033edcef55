/**
 * `npm run lab -- vocab --model M [--corpus FILE] --add N --init salt|mean|random [--donor FILE --donor-vocab FILE] [--seed s] --out DIR [--json]`
 * Vocabulary extension (docs/methods.md §8): learns N target-language tokens from the corpus, extends
 * the tokenizer, grows and initialises the embedding rows, and writes a Hugging Face model folder
 * (config.json, model.safetensors, tokenizer.json) that every other command takes as --model DIR.
 * Every input is checked before anything is written.
 */
import { readInputBytes, readInputText } from '../input-files';
import { resolve } from 'node:path';
import { helpText, intFlag, parseArgs, UsageError, type Spec } from '../args';
import { atomicWriteFiles, checkOutDir, lockOutDir } from '../safe-write';
import { BACKEND_FLAG, HELP_FLAG, MODEL_FLAGS } from '../common-flags';
import { initNodeBackend, loadModelArg, PROJECT_ROOT } from '../node-env';
import { corpusTexts, DEFAULT_CORPUS_FILES, HELDOUT_FILES } from '../../src/lib/vocab/corpus';
import { extendModel } from '../../src/lib/vocab/extend-model';
import { loadDonor } from '../../src/lib/vocab/donor';
import { INIT_METHODS, type InitMethod } from '../../src/lib/vocab/init';
import { tokensPerChar } from '../../src/lib/eval/bits-per-char';
import { exportMerged } from '../../src/lib/formats/merged';

const COMMAND = 'vocab';
/** what `vocab --out DIR` writes (config.json last: a folder without it is not a model) */
const MODEL_FILES = [
  'config.json',
  'generation_config.json',
  'model.safetensors',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.json',
];

const SPEC: Spec = {
  ...MODEL_FLAGS,
  corpus: {
    type: 'string',
    help: `text file (one text per line) or JSONL/JSON rows to learn tokens from (default: the bundled Korean data, ${DEFAULT_CORPUS_FILES.length} files)`,
  },
  column: {
    type: 'string',
    help: 'JSON field holding the text (default: "text", else every string field with Hangul)',
  },
  heldout: {
    type: 'string',
    help: 'held-out text for tokens/char before and after (default: the bundled KULLM Korean prompts)',
  },
  add: { type: 'number', help: 'new tokens to add', default: 1024 },
  init: { type: 'string', help: 'initialisation of the new rows', choices: INIT_METHODS, default: 'salt' },
  donor: { type: 'string', help: 'SALT donor embedding matrix (safetensors; needs --donor-vocab)' },
  'donor-vocab': { type: 'string', help: "the donor's vocabulary: vocab.txt or tokenizer.json" },
  seed: { type: 'number', help: 'seed of the skip-gram and of random rows', default: 0 },
  backend: BACKEND_FLAG,
  out: { type: 'string', help: 'output folder (Hugging Face layout)', required: true },
  overwrite: { type: 'boolean', help: 'replace a model folder already in --out' },
  json: {
    type: 'boolean',
    help: 'print {added, vocab_size, tokens_per_char_before, tokens_per_char_after, init} on stdout',
  },
  help: HELP_FLAG,
};

const readText = (path: string, flag: string): string => readInputText(COMMAND, flag, path);
const readBytes = (path: string, flag: string): Uint8Array => readInputBytes(COMMAND, flag, path);

export async function run(argv: string[]): Promise<number> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  let unlock = () => {};
  try {
    if (argv.includes('--help')) {
      process.stdout.write(
        `${helpText(COMMAND, 'Extends the vocabulary with target-language tokens (docs/methods.md §8) and writes the extended model.', SPEC)}\n`,
      );
      return 0;
    }
    const a = parseArgs(argv, SPEC, COMMAND);
    const add = intFlag(a, 'add', COMMAND, 1);
    const init = a.init as InitMethod;
    const seed = intFlag(a, 'seed', COMMAND, 0);
    if ((a.donor === undefined) !== (a['donor-vocab'] === undefined))
      throw new UsageError(`${COMMAND}: --donor and --donor-vocab go together`);
    if (a.donor !== undefined && init !== 'salt')
      throw new UsageError(`${COMMAND}: --donor is only used by --init salt`);
    // the output folder is checked before any work: writable, apart from every input, no model there unless --overwrite
    const outDir = checkOutDir(
      COMMAND,
      'out',
      a.out as string | undefined,
      (['model', 'tokenizer', 'corpus', 'heldout', 'donor', 'donor-vocab'] as const).map((flag) => ({
        flag,
        path: a[flag] as string | undefined,
      })),
      { overwrite: !!a.overwrite, ownFiles: MODEL_FILES },
    );
    unlock = lockOutDir(outDir, COMMAND);
    const column = a.column as string | undefined;
    const corpusFiles =
      a.corpus !== undefined ? [String(a.corpus)] : DEFAULT_CORPUS_FILES.map((f) => resolve(PROJECT_ROOT, 'public', f));
    const texts = corpusFiles.flatMap((f) => corpusTexts(readText(f, 'corpus'), f, { column }));
    const heldFiles =
      a.heldout !== undefined ? [String(a.heldout)] : HELDOUT_FILES.map((f) => resolve(PROJECT_ROOT, 'public', f));
    const heldout = heldFiles.flatMap((f) => corpusTexts(readText(f, 'heldout'), f, { column }));
    const donor =
      a.donor !== undefined
        ? await loadDonor(
            readBytes(String(a.donor), 'donor'),
            String(a.donor),
            readBytes(String(a['donor-vocab']), 'donor-vocab'),
            String(a['donor-vocab']),
          )
        : null;

    await initNodeBackend((a.backend as string | undefined) ?? 'cpu', log);
    const model = await loadModelArg(String(a.model), a.tokenizer as string | undefined);
    const source = a.corpus !== undefined ? String(a.corpus) : 'bundled Korean corpus';
    const t0 = performance.now();
    const ext = await extendModel(model, texts, {
      add,
      init,
      seed,
      donor,
      source,
      onProgress: (stage, d, n) => (stage !== 'learn' || d === n) && log(`${stage}: ${d}/${n}`),
    });
    const seconds = (performance.now() - t0) / 1000;
    const before = tokensPerChar((t) => model.tokenizer.encode(t, { bos: false }), heldout);
    const after = tokensPerChar((t) => ext.model.tokenizer.encode(t, { bos: false }), heldout);
    const files = await exportMerged(ext.model, null);
    const report = {
      added: ext.newIds.length,
      vocab_size: ext.model.config.vocabSize,
      tokens_per_char_before: before,
      tokens_per_char_after: after,
      init,
      aux: ext.auxSource,
      syllables: ext.learned.filter((p) => !p.merge).length,
      merges: ext.learned.filter((p) => p.merge).length,
      embed_init: ext.embedStats,
      head_init: ext.headStats,
      timings_ms: ext.timings,
      seconds,
      base: model.name,
      corpus: corpusFiles,
      heldout: heldFiles,
      seed,
    };
    files.set(
      'vocab.json',
      new TextEncoder().encode(JSON.stringify({ ...report, pieces: ext.learned.map((p) => p.piece) }, null, 1) + '\n'),
    );
    atomicWriteFiles(outDir, files, { marker: 'config.json' });
    log(
      `${ext.newIds.length} tokens added (${report.syllables} syllables, ${report.merges} merges), init ${init}${ext.auxSource ? ` (${ext.auxSource})` : ''}; held-out tokens/char ${before.toFixed(3)} → ${after.toFixed(3)}; ${seconds.toFixed(1)} s → ${outDir}`,
    );
    if (a.json)
      process.stdout.write(
        `${JSON.stringify({ added: report.added, vocab_size: report.vocab_size, tokens_per_char_before: before, tokens_per_char_after: after, init, aux: report.aux, timings_ms: ext.timings, out: outDir })}\n`,
      );
    return 0;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${err instanceof UsageError ? '' : `${COMMAND}: `}${msg.split('\n')[0]}\n`);
    return err instanceof UsageError ? 2 : 1;
  } finally {
    unlock();
  }
}
