/**
 * Builds a merged export of an extended model with the headless runner, for the browser tests:
 * `vocab` grows stories260K by `add` Korean tokens (mean init, bundled corpus), `train --objective pt`
 * trains the new embedding rows together with a LoRA adapter for a few steps on Korean text rows,
 * `export --format merged` folds both into one Hugging Face folder. Then the same CLI scores that folder
 * (KoBEST COPA, held-out English perplexity, one greedy generation) so a test can compare the page's
 * numbers with these. Every command runs as `npm run -s lab` does (cli/launch.mjs cli/lab.ts).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface CliScores {
  kobest_copa: { n: number; acc: number; items: { gold: number; pred: number; loglik: number[] }[] };
  perplexity: { n: number; tokens: number; ppl: number; nll: number };
}

export interface ExtendedExport {
  /** the extended model before training (`vocab --out`) */
  extended: string;
  /** the trained model: `train --out` (the adapter) and its `model/` folder (the trained rows) */
  trained: { model: string; adapter: string };
  /** the merged export (`export --format merged --out`) */
  merged: string;
  vocabSize: number;
  scores: CliScores;
  generated: { text: string; ids: number[] };
}

/** Runs one `lab` command; throws with its stderr on a non-zero exit. Returns stdout. */
export function lab(args: string[]): string {
  const r = spawnSync(process.execPath, ['cli/launch.mjs', 'cli/lab.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (r.status !== 0) throw new Error(`lab ${args[0]} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const lastJson = <T>(out: string): T => JSON.parse(out.trim().split('\n').pop()!) as T;

export const EVAL_LIMIT = 8;
export const PROMPT = '옛날 옛적에';
export const MAX_NEW_TOKENS = 12;

/** Scores a model folder (plus an adapter folder) with the CLI on the wasm backend (the one the page test forces). */
export function cliScores(
  model: string,
  adapter?: string,
): { scores: CliScores; generated: { text: string; ids: number[] } } {
  const withAdapter = adapter ? ['--adapter', adapter] : [];
  // prettier-ignore
  const ev = lastJson<{ results: { kobest_copa: CliScores['kobest_copa'] }; perplexity: CliScores['perplexity'] }>(
    lab(['eval', '--model', model, ...withAdapter, '--tasks', 'kobest_copa', '--limit', String(EVAL_LIMIT), '--perplexity',
      '--backend', 'wasm', '--json']),
  );
  // prettier-ignore
  const generated = lastJson<{ text: string; ids: number[] }>(
    lab(['generate', '--model', model, ...withAdapter, '--prompt', PROMPT, '--max-new-tokens', String(MAX_NEW_TOKENS),
      '--backend', 'wasm', '--json']),
  );
  return { scores: { kobest_copa: ev.results.kobest_copa, perplexity: ev.perplexity }, generated };
}

/** Writes `dir/ext`, `dir/pt`, `dir/merged` (the export is named `mergedName`) and scores the export. */
export function buildExtendedExport(dir: string, add = 64, mergedName = 'ext-merged'): ExtendedExport {
  const extended = join(dir, 'ext');
  const v = lastJson<{ added: number; vocab_size: number }>(
    lab(['vocab', '--add', String(add), '--init', 'mean', '--backend', 'cpu', '--json', '--out', extended]),
  );
  if (v.added !== add) throw new Error(`vocab added ${v.added} tokens, asked for ${add}`);

  // continued pretraining on Korean text rows: new rows and LoRA, a few steps at a high rate so both move
  const rows = readFileSync(join(ROOT, 'public/data/instructions/ko_chatbot_300.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .slice(0, 40)
    .map((l) => JSON.parse(l) as { instruction: string; output: string });
  const data = join(dir, 'pt.jsonl');
  writeFileSync(data, rows.map((r) => JSON.stringify({ text: `${r.instruction} ${r.output}` })).join('\n') + '\n');
  const pt = join(dir, 'pt');
  // prettier-ignore
  lab(['train', '--model', extended, '--objective', 'pt', '--train-embeddings', 'new', '--lora-targets', 'q_proj,v_proj',
    '--lora-rank', '4', '--data', data, '--steps', '3', '--batch-size', '2', '--max-seq-len', '64', '--lr', '1e-2',
    '--warmup-steps', '0', '--checkpoint-every', '0', '--backend', 'cpu', '--out', pt]);

  // the trained rows live in pt/model, the adapter in pt: the merged export folds both
  const merged = join(dir, mergedName);
  lab(['export', '--model', join(pt, 'model'), '--adapter', pt, '--format', 'merged', '--out', merged, '--json']);
  const cfg = JSON.parse(readFileSync(join(merged, 'config.json'), 'utf8')) as { vocab_size: number };
  if (cfg.vocab_size !== v.vocab_size)
    throw new Error(`merged config.json has vocab_size ${cfg.vocab_size}, vocab reported ${v.vocab_size}`);
  return {
    extended,
    trained: { model: join(pt, 'model'), adapter: pt },
    merged,
    vocabSize: v.vocab_size,
    ...cliScores(merged),
  };
}
