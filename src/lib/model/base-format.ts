import { countParams, type ModelConfig } from './config';

/**
 * The frozen base's precision (packed-base.ts packs it; this module holds only the choice, so the page
 * can show it without loading the kernels).
 */
export type BaseFormat = 'f32' | 'f16' | 'int8';

export const BASE_FORMATS: readonly BaseFormat[] = ['f32', 'f16', 'int8'];

/** Models above this many parameters default to the int8 base (defaultBaseFormat). */
export const PACKED_BASE_ABOVE_PARAMS = 100e6;

/**
 * The base format a run uses unless told otherwise: 'int8' for models above 100M parameters (SmolLM2-135M,
 * Qwen2.5-0.5B: a quarter of the block matrices' f32 bytes, the losses of 20 CLO steps within 0.2% of f32),
 * 'f32' below (small models gain little memory and lose nothing by staying exact).
 */
export function defaultBaseFormat(config: ModelConfig): BaseFormat {
  return countParams(config) > PACKED_BASE_ABOVE_PARAMS ? 'int8' : 'f32';
}

/** What a run asks for: a format, or 'auto' (defaultBaseFormat for the model's size). */
export type BaseChoice = BaseFormat | 'auto';

export const BASE_CHOICES: readonly BaseChoice[] = ['auto', ...BASE_FORMATS];

/** The one place a base choice becomes a format: 'auto' (or nothing) is the default for the model's size. */
export function resolveBase(choice: BaseChoice | undefined, config: ModelConfig): BaseFormat {
  return !choice || choice === 'auto' ? defaultBaseFormat(config) : choice;
}
