/** `eval --text FILE`: tokens and bits per character of held-out text (docs/methods.md §9), comparable across tokenizers. */
import { existsSync, readFileSync } from 'node:fs';
import { UsageError, type Parsed } from './args';
import { initNodeBackend, loadAdapterArg, loadModelArg } from './node-env';
import { corpusTexts } from '../src/lib/vocab/corpus';
import { bitsPerChar } from '../src/lib/eval/bits-per-char';

export async function evalText(a: Parsed, log: (s: string) => void): Promise<number> {
  const path = String(a.text);
  if (!existsSync(path)) throw new UsageError(`eval: flag --text: file not found: ${path}`);
  const texts = corpusTexts(readFileSync(path, 'utf8'), path);
  const backend = await initNodeBackend((a.backend as string | undefined) ?? null, log);
  const model = await loadModelArg(String(a.model), a.tokenizer as string | undefined);
  const lora = a.adapter ? await loadAdapterArg(String(a.adapter), model) : null;
  const limit = a.limit === undefined ? texts.length : Number(a.limit);
  const r = await bitsPerChar(model, texts.slice(0, limit), {
    lora,
    batchSize: Number(a['batch-size'] ?? 16),
    onProgress: (d, n) => log(`text: ${d}/${n}`),
  });
  const out = { chars: r.chars, tokens: r.tokens, tokens_per_char: r.tokens_per_char, bits_per_char: r.bits_per_char };
  if (a.json)
    process.stdout.write(
      `${JSON.stringify({ ...out, texts: r.texts, model: model.name, adapter: a.adapter ?? null, backend: backend.name })}\n`,
    );
  else
    process.stdout.write(
      `${path}: ${r.texts} texts, ${r.chars} chars, ${r.tokens} tokens, ${r.tokens_per_char.toFixed(4)} tokens/char, ${r.bits_per_char.toFixed(4)} bits/char\n`,
    );
  return 0;
}
