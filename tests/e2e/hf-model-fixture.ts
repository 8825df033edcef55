/**
 * Writes a small random-weight Llama in Hugging Face layout (config.json, model.safetensors,
 * tokenizer.json, tokenizer_config.json) to a folder, for the browser tests. The tokenizer is a
 * byte-level BPE with byte fallback (<0x00>…<0xFF>), so Korean and English text both encode. Shapes
 * differ from stories260K on purpose (dim 48, 3 layers, vocab 300) so a test can tell the models apart.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig } from '../../src/lib/model/config';
import { randomWeights } from '../../src/lib/model/random';
import { writeSafetensors } from '../../src/lib/formats/safetensors';
import { hfConfigJson, llamaTensors, quantizeWeights } from '../helpers/hf-fixtures';

export const TINY = { dim: 48, nLayers: 3, nHeads: 4, nKvHeads: 2, hiddenDim: 96, vocabSize: 300, maxSeqLen: 256 };

function byteFallbackTokenizer(vocabSize: number): { tokenizerJson: object; tokenizerConfig: object } {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  let id = 3;
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = id++;
  const letters = 'abcdefghijklmnopqrstuvwxyz.,!?▁';
  for (const ch of letters) if (id < vocabSize) vocab[ch] = id++;
  while (id < vocabSize) vocab[`<extra_${id}>`] = id++;
  return {
    tokenizerJson: {
      version: '1.0',
      added_tokens: [
        { id: 0, content: '<unk>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
        { id: 1, content: '<s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
        { id: 2, content: '</s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      ],
      normalizer: {
        type: 'Sequence',
        normalizers: [
          { type: 'Prepend', prepend: '▁' },
          { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
        ],
      },
      pre_tokenizer: null,
      post_processor: null,
      decoder: {
        type: 'Sequence',
        decoders: [
          { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
          { type: 'ByteFallback' },
          { type: 'Fuse' },
          { type: 'Strip', content: ' ', start: 1, stop: 0 },
        ],
      },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: '<unk>',
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: true,
        byte_fallback: true,
        vocab,
        merges: [],
      },
    },
    tokenizerConfig: {
      bos_token: '<s>',
      eos_token: '</s>',
      unk_token: '<unk>',
      add_bos_token: true,
      chat_template: '{% for m in messages %}{{ m.content }}{% endfor %}',
    },
  };
}

/** Writes the folder `dir/name` and returns its path. */
export function writeTinyHfLlama(dir: string, name = 'tiny-ko-llama', seed = 11): string {
  const config = defaultConfig({ arch: 'llama', ...TINY, tiedEmbeddings: false, normEps: 1e-5, bosId: 1, eosId: 2 });
  const weights = quantizeWeights(randomWeights(config, seed));
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  const cfg = { ...hfConfigJson(config), bos_token_id: 1, eos_token_id: 2 };
  writeFileSync(join(folder, 'config.json'), JSON.stringify(cfg));
  const tok = byteFallbackTokenizer(config.vocabSize);
  writeFileSync(join(folder, 'tokenizer.json'), JSON.stringify(tok.tokenizerJson));
  writeFileSync(join(folder, 'tokenizer_config.json'), JSON.stringify(tok.tokenizerConfig));
  writeFileSync(join(folder, 'model.safetensors'), writeSafetensors(llamaTensors(weights, 'F32'), { format: 'pt' }));
  return folder;
}
