/** Node-side helpers for vocabulary extension runs: text rows for `pt`, the added-rows range, writing trained rows. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './args';
import type { LoadedModel } from '../src/lib/model/model';
import type { ParseResult, TrainRow } from '../src/lib/data/rows';
import { corpusTexts } from '../src/lib/vocab/corpus';
import type { TrainableRows } from '../src/lib/train/trainable-rows';
import { addTrainableTokens } from '../src/lib/formats/peft-rows';
import { exportMerged } from '../src/lib/formats/merged';

/** `pt` data: {"text": …} rows (JSONL/JSON) or plain text, one text per non-empty line. */
export function parseTextRows(content: string, fileName: string): ParseResult<TrainRow> & { fileName: string } {
  const texts = corpusTexts(content, fileName, {
    column: content.trimStart().startsWith('{') || content.trimStart().startsWith('[') ? 'text' : undefined,
  });
  const rows: TrainRow[] = texts.map((t) => ({ kind: 'sft', prompt: '', response: t }));
  return { rows, errors: [], total: rows.length, fileName };
}

/** First added row of a model written by `vocab` (its vocab.json says how many rows were added). */
export function addedRowsStart(model: LoadedModel, modelArg: string): number {
  const p = resolve(modelArg, 'vocab.json');
  if (!existsSync(p))
    throw new UsageError(
      `train: --train-embeddings new: ${modelArg} has no vocab.json (make the model with \`vocab\` first)`,
    );
  const v = JSON.parse(readFileSync(p, 'utf8')) as { added?: number; vocab_size?: number };
  if (!v.added || v.vocab_size !== model.config.vocabSize)
    throw new UsageError(
      `train: ${p}: vocab_size ${v.vocab_size} does not match the model (${model.config.vocabSize})`,
    );
  return v.vocab_size - v.added;
}

/**
 * After training rows: adds them to the PEFT adapter PEFT's way (trainable_token_indices), and
 * writes OUT/model/, the extended model with the trained rows (Hugging Face layout), so
 * `eval --model OUT/model --adapter OUT` scores what was trained.
 */
export async function writeTrainedRows(
  outDir: string,
  rows: TrainableRows,
  model: LoadedModel,
  modelDir: string,
): Promise<string[]> {
  const snap = await rows.snapshot();
  const cfgPath = resolve(outDir, 'adapter_config.json');
  const wPath = resolve(outDir, 'adapter_model.safetensors');
  const files = await addTrainableTokens(
    { adapterConfig: JSON.parse(readFileSync(cfgPath, 'utf8')), weights: new Uint8Array(readFileSync(wPath)) },
    snap,
    model.config,
  );
  writeFileSync(cfgPath, JSON.stringify(files.adapterConfig, null, 2) + '\n');
  writeFileSync(wPath, files.weights);
  const merged = rows.merged();
  try {
    const withRows: LoadedModel = {
      ...model,
      weights: { ...model.weights, embed: merged.embed, lmHead: merged.lmHead ?? model.weights.lmHead },
    };
    const out = await exportMerged(withRows, null);
    const dir = resolve(outDir, 'model');
    mkdirSync(dir, { recursive: true });
    for (const [n, b] of out) writeFileSync(resolve(dir, n), b);
    const vocabJson = resolve(modelDir, 'vocab.json');
    if (existsSync(vocabJson)) writeFileSync(resolve(dir, 'vocab.json'), readFileSync(vocabJson));
    return ['model/'];
  } finally {
    merged.embed.dispose();
    merged.lmHead?.dispose();
  }
}
