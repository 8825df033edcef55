import type { FlagSpec } from './args';
import { NODE_BACKENDS } from '../src/lib/backend/order';
import { EMBEDDED_NAME } from '../src/lib/formats/model-spec';

/** Flags several commands share, defined once so their help and choices stay the same everywhere. */
export const MODEL_FLAG: FlagSpec = {
  type: 'string',
  help: `${EMBEDDED_NAME}, a llama2.c .bin, or a Hugging Face folder`,
  default: EMBEDDED_NAME,
};
export const TOKENIZER_FLAG: FlagSpec = {
  type: 'string',
  help: 'llama2.c tokenizer .bin (for a .bin model; default: tokenizer.bin or tok512.bin beside it)',
};
export const ADAPTER_FLAG: FlagSpec = {
  type: 'string',
  help: 'LoRA adapter folder in PEFT layout (adapter_config.json + adapter_model.safetensors)',
};
export const BACKEND_FLAG: FlagSpec = {
  type: 'string',
  help: 'tfjs backend (default: the fastest that works here; the choice is printed)',
  choices: [...NODE_BACKENDS],
};
export const HELP_FLAG: FlagSpec = { type: 'boolean', help: 'show this help' };

export const MODEL_FLAGS = { model: MODEL_FLAG, tokenizer: TOKENIZER_FLAG };
