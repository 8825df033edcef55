/**
 * Checks on a LoRA adapter before it is applied to a model: rank and alpha positive and
 * finite, target modules that exist, every A/B shape equal to the model's linear layer, no NaN/Inf,
 * and the base model recorded in the adapter compared with the one loaded. Errors name the file
 * and the tensor; a different base model is a warning (paths differ between machines), returned to
 * the caller to print.
 */
import type { ModelConfig } from '../model/config';
import { LINEAR_NAMES, type LinearName } from '../model/weights';
import type { LoraSnapshot } from './types';

export class AdapterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdapterError';
  }
}

const positive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** [in, out] features of one linear layer of the model. */
export function linearFeatures(c: ModelConfig, target: LinearName): [number, number] {
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  switch (target) {
    case 'q_proj':
      return [c.dim, q];
    case 'k_proj':
    case 'v_proj':
      return [c.dim, kv];
    case 'o_proj':
      return [q, c.dim];
    case 'gate_proj':
    case 'up_proj':
      return [c.dim, c.hiddenDim];
    case 'down_proj':
      return [c.hiddenDim, c.dim];
  }
}

/**
 * adapter_config.json as read from disk: r a positive integer, lora_alpha (when given) a positive
 * finite number (a string such as "abc" is refused, not turned into NaN), rank/alpha patterns likewise,
 * target_modules a name or a list of names.
 */
export function validateAdapterConfig(cfg: Record<string, unknown>, file: string): void {
  if (!(positive(cfg.r) && Number.isInteger(cfg.r)))
    throw new AdapterError(`${file}: r must be a positive integer, got ${JSON.stringify(cfg.r)}`);
  if (cfg.lora_alpha !== undefined && !positive(cfg.lora_alpha))
    throw new AdapterError(`${file}: lora_alpha must be a positive number, got ${JSON.stringify(cfg.lora_alpha)}`);
  for (const key of ['rank_pattern', 'alpha_pattern']) {
    const p = cfg[key];
    if (p === undefined || p === null) continue;
    if (typeof p !== 'object' || Array.isArray(p))
      throw new AdapterError(`${file}: ${key} must be an object, got ${JSON.stringify(p)}`);
    for (const [m, v] of Object.entries(p))
      if (!positive(v))
        throw new AdapterError(`${file}: ${key}["${m}"] must be a positive number, got ${JSON.stringify(v)}`);
  }
  if (
    cfg.lora_dropout !== undefined &&
    !(typeof cfg.lora_dropout === 'number' && cfg.lora_dropout >= 0 && cfg.lora_dropout < 1)
  )
    throw new AdapterError(`${file}: lora_dropout must be a number in [0, 1), got ${JSON.stringify(cfg.lora_dropout)}`);
  const t = cfg.target_modules;
  if (
    t !== undefined &&
    t !== null &&
    typeof t !== 'string' &&
    !(Array.isArray(t) && t.every((x) => typeof x === 'string'))
  )
    throw new AdapterError(`${file}: target_modules must be a name or a list of names, got ${JSON.stringify(t)}`);
}

/** The target modules the config lists that none of the adapter's tensors use, e.g. ["q_prj"]. */
function missingTargets(cfg: Record<string, unknown>, snap: LoraSnapshot): string[] {
  const t = cfg.target_modules;
  if (!Array.isArray(t)) return [];
  const present = new Set<string>(snap.config.targets);
  return (t as string[]).filter(
    (name) =>
      !present.has(name) &&
      !LINEAR_NAMES.includes(name as LinearName) &&
      !/^(c_attn|c_proj|c_fc|fc_in|fc_out|query_key_value|dense)$/.test(name),
  );
}

/** Comparable name of a base model: last path part without .bin / trailing slash. */
function baseName(s: string): string {
  return s
    .replace(/[\\/]+$/, '')
    .split(/[\\/]/)
    .pop()!
    .replace(/\.bin$/, '');
}

/**
 * The adapter as it will be applied: rank and alpha positive and finite, every tensor's layer inside
 * the model, A = [r, in] and B = [out, r] with the model's in/out features, every value finite.
 * Returns warnings (base model recorded in the adapter differs from the loaded one).
 */
export function validateAdapter(
  snap: LoraSnapshot,
  model: { config: ModelConfig; source: string; name: string },
  file: string,
  rawConfig?: Record<string, unknown>,
): string[] {
  const { r, alpha } = snap.config;
  if (!(positive(r) && Number.isInteger(r)))
    throw new AdapterError(`${file}: rank must be a positive integer, got ${r}`);
  if (!positive(alpha)) throw new AdapterError(`${file}: alpha must be a positive finite number, got ${alpha}`);
  const c = model.config;
  for (const [key, t] of Object.entries(snap.tensors)) {
    const m = /^(\d+)\.(\w+)$/.exec(key);
    if (!m || !LINEAR_NAMES.includes(m[2] as LinearName))
      throw new AdapterError(`${file}: tensor "${key}" is not a layer.target of the model`);
    const layer = Number(m[1]);
    if (layer >= c.nLayers)
      throw new AdapterError(`${file}: tensor "${key}" is for layer ${layer}, the model has ${c.nLayers} layers`);
    const [inF, outF] = linearFeatures(c, m[2] as LinearName);
    const wantA = [r, inF];
    const wantB = [outF, r];
    if (t.aShape[0] !== wantA[0] || t.aShape[1] !== wantA[1])
      throw new AdapterError(
        `${file}: tensor "${key}.lora_A" is [${t.aShape}], the model needs [${wantA}] (adapter made for another model?)`,
      );
    if (t.bShape[0] !== wantB[0] || t.bShape[1] !== wantB[1])
      throw new AdapterError(
        `${file}: tensor "${key}.lora_B" is [${t.bShape}], the model needs [${wantB}] (adapter made for another model?)`,
      );
    for (const [which, data] of [
      ['lora_A', t.A],
      ['lora_B', t.B],
    ] as const) {
      if (data.length !== (which === 'lora_A' ? r * inF : outF * r))
        throw new AdapterError(
          `${file}: tensor "${key}.${which}" holds ${data.length} values for shape [${which === 'lora_A' ? t.aShape : t.bShape}]`,
        );
      for (let i = 0; i < data.length; i++)
        if (!Number.isFinite(data[i]))
          throw new AdapterError(
            `${file}: tensor "${key}.${which}" has ${data[i]} at index ${i} (a diverged training run?)`,
          );
    }
  }
  const warnings: string[] = [];
  if (rawConfig) {
    const missing = missingTargets(rawConfig, snap);
    if (missing.length > 0)
      throw new AdapterError(
        `${file}: target_modules ${JSON.stringify(missing)} name no linear layer of the model (${LINEAR_NAMES.join(', ')})`,
      );
    const base = rawConfig.base_model_name_or_path;
    if (
      typeof base === 'string' &&
      base &&
      baseName(base) !== baseName(model.source) &&
      baseName(base) !== baseName(model.name)
    ) {
      warnings.push(`${file}: adapter was trained on "${base}", it is being applied to "${model.source}"`);
    }
  }
  return warnings;
}
