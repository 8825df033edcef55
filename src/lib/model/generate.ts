import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from './model';
import type { LoraState } from './adapter';
import { forward, type KvCache } from './forward';
import { mulberry32, sampleToken } from './sample';
import { visibleText } from './visible-text';

export interface GenerateOptions {
  maxNewTokens: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  lora?: LoraState | null;
  /** called per token with the id and the newly shown text (visible-text.ts: characters still
   *  arriving as byte tokens are held back, bytes that cannot form one and control characters dropped) */
  onToken?: (id: number, text: string) => void;
  signal?: AbortSignal;
}

/**
 * Incremental decoding with a KV cache; stops at EOS, at BOS-as-end (llama2.c), or at the context limit.
 * The returned text is what visibleText shows: no U+FFFD from byte tokens, no control characters.
 */
export async function generate(
  model: LoadedModel,
  promptIds: number[],
  opts: GenerateOptions,
): Promise<{ ids: number[]; text: string }> {
  const cfg = model.config;
  if (promptIds.length === 0)
    throw new Error('generate: the prompt has no tokens (empty, and the tokenizer adds no BOS): nothing to continue');
  const rng = mulberry32(opts.seed ?? 0);
  const temperature = opts.temperature ?? 0;
  const topP = opts.topP ?? 1;
  const cache: KvCache = { length: 0, layers: [] };
  const tok = model.tokenizer;
  const prefixText = tok.decode(promptIds);
  const generated: number[] = [];
  let shown = '';
  let input = promptIds.slice(-cfg.maxSeqLen);
  try {
    while (generated.length < opts.maxNewTokens && cache.length + input.length <= cfg.maxSeqLen) {
      if (opts.signal?.aborted) break;
      const last = tf.tidy(() => {
        const ids = tf.tensor2d(input, [1, input.length], 'int32');
        const logits = forward(model, ids, { lora: opts.lora ?? null, cache });
        return logits.slice([0, input.length - 1, 0], [1, 1, cfg.vocabSize]).reshape([cfg.vocabSize]);
      });
      const data = (await last.data()) as Float32Array;
      last.dispose();
      const next = sampleToken(data, { temperature, topP, rng });
      if (next === tok.eosId || next === tok.bosId) break;
      generated.push(next);
      const text = tok.decode([...promptIds, ...generated]).slice(prefixText.length);
      if (opts.onToken && !text.endsWith('\uFFFD')) {
        const visible = visibleText(text, false);
        opts.onToken(next, visible.startsWith(shown) ? visible.slice(shown.length) : '');
        shown = visible;
      }
      input = [next];
    }
  } finally {
    for (const l of cache.layers) {
      l.k.dispose();
      l.v.dispose();
    }
  }
  const text = visibleText(tok.decode([...promptIds, ...generated]).slice(prefixText.length), true);
  return { ids: generated, text };
}
