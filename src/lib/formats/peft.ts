/**
 * LoRA adapters in Hugging Face PEFT layout: `adapter_config.json` + `adapter_model.safetensors`
 * with keys `base_model.model.<module>.lora_A.weight` [r, in] and `...lora_B.weight` [out, r].
 *
 * Llama/Mistral/Qwen2 modules: model.layers.N.self_attn.{q,k,v,o}_proj, model.layers.N.mlp.{gate,up,down}_proj.
 * GPT-2: the lab keeps q/k/v separate, PEFT adapts the fused `attn.c_attn`. The q/k/v adapters of a
 * layer are written as one exact c_attn adapter of rank r·(number of q/k/v targets): A stacked,
 * B block-diagonal, with `rank_pattern`/`alpha_pattern` keeping alpha/r unchanged.
 *
 * The adapter is written for the Hugging Face layout of the base, i.e. the merged export (merged.ts):
 * for llama2.c models (interleaved RoPE) the rows of q_proj/k_proj's lora_B are reordered exactly as
 * the merged export reorders the base rows (rope-layout.ts), and fromPeft applies the inverse.
 */
import type { ModelConfig } from '../model/config';
import type { LinearName } from '../model/weights';
import { LINEAR_NAMES } from '../model/weights';
import { linearShape } from '../model/adapter';
import type { LoraConfig, LoraSnapshot } from '../lora/types';
import { hfLinearModule } from './hf-weights';
import { SafetensorsReader, writeSafetensors, type WriteTensor } from './safetensors';
import { permuteHalfToInterleaved, permuteInterleavedToHalf, ropeRowHeads } from './rope-layout';

export const PEFT_PREFIX = 'base_model.model.';

export class PeftError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeftError';
  }
}

export interface PeftFiles {
  adapterConfig: Record<string, unknown>;
  /** adapter_model.safetensors bytes */
  weights: Uint8Array;
}

const GPT2_MODULE: Partial<Record<LinearName, string>> = {
  q_proj: 'c_attn',
  k_proj: 'c_attn',
  v_proj: 'c_attn',
  o_proj: 'attn.c_proj',
  up_proj: 'c_fc',
  down_proj: 'mlp.c_proj',
};
const QKV: LinearName[] = ['q_proj', 'k_proj', 'v_proj'];

function parseKey(key: string): { layer: number; target: LinearName } {
  const m = /^(\d+)\.([a-z_]+)$/.exec(key);
  if (!m || !(LINEAR_NAMES as string[]).includes(m[2]))
    throw new PeftError(`LoRA snapshot key "${key}" is not "<layer>.<target>"`);
  return { layer: Number(m[1]), target: m[2] as LinearName };
}

/** LoraSnapshot → PEFT files. `baseModel` goes into base_model_name_or_path. */
export function toPeft(snap: LoraSnapshot, model: ModelConfig, baseModel: string): PeftFiles {
  const { r, alpha } = snap.config;
  const tensors = new Map<string, WriteTensor>();
  const targets = [...new Set(Object.keys(snap.tensors).map((k) => parseKey(k).target))].sort(
    (a, b) => LINEAR_NAMES.indexOf(a) - LINEAR_NAMES.indexOf(b),
  );
  const config: Record<string, unknown> = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r,
    lora_alpha: alpha,
    lora_dropout: snap.config.dropout,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    use_rslora: false,
    use_dora: false,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    revision: null,
  };

  if (model.arch !== 'gpt2') {
    for (const [key, t] of Object.entries(snap.tensors)) {
      const { layer, target } = parseKey(key);
      const mod = PEFT_PREFIX + hfLinearModule(model.arch, layer, target);
      const heads = ropeRowHeads(model, target);
      const B = heads ? permuteInterleavedToHalf(t.B, heads, model.headDim, t.bShape[1]) : t.B;
      tensors.set(`${mod}.lora_A.weight`, { shape: [...t.aShape], data: t.A });
      tensors.set(`${mod}.lora_B.weight`, { shape: [...t.bShape], data: B });
    }
    config.target_modules = targets;
    return {
      adapterConfig: config,
      weights: writeSafetensors(tensors, { format: 'pt', 'clo_lab.targets': targets.join(',') }),
    };
  }

  // GPT-2
  const d = model.dim;
  const qkv = QKV.filter((t) => targets.includes(t));
  for (let layer = 0; layer < model.nLayers; layer++) {
    if (qkv.length) {
      const R = r * qkv.length;
      const A = new Float32Array(R * d);
      const B = new Float32Array(3 * d * R);
      qkv.forEach((t, j) => {
        const p = snap.tensors[`${layer}.${t}`];
        if (!p) return; // layer without this adapter: zero block
        A.set(p.A, j * r * d);
        const row0 = QKV.indexOf(t) * d;
        for (let o = 0; o < d; o++) for (let c = 0; c < r; c++) B[(row0 + o) * R + j * r + c] = p.B[o * r + c];
      });
      const mod = `${PEFT_PREFIX}transformer.h.${layer}.attn.c_attn`;
      tensors.set(`${mod}.lora_A.weight`, { shape: [R, d], data: A });
      tensors.set(`${mod}.lora_B.weight`, { shape: [3 * d, R], data: B });
    }
    for (const t of targets) {
      if (QKV.includes(t)) continue;
      const p = snap.tensors[`${layer}.${t}`];
      if (!p) continue;
      const mod = PEFT_PREFIX + hfLinearModule('gpt2', layer, t);
      tensors.set(`${mod}.lora_A.weight`, { shape: [...p.aShape], data: p.A });
      tensors.set(`${mod}.lora_B.weight`, { shape: [...p.bShape], data: p.B });
    }
  }
  config.target_modules = [...new Set(targets.map((t) => GPT2_MODULE[t]!))];
  config.fan_in_fan_out = true;
  if (qkv.length > 1) {
    config.rank_pattern = { c_attn: r * qkv.length };
    config.alpha_pattern = { c_attn: alpha * qkv.length };
  }
  return {
    adapterConfig: config,
    weights: writeSafetensors(tensors, { format: 'pt', 'clo_lab.targets': targets.join(',') }),
  };
}

function moduleToTargets(module: string, arch: string): { layer: number; targets: LinearName[] } | null {
  if (arch === 'gpt2') {
    const m = /^(?:transformer\.)?h\.(\d+)\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)$/.exec(module);
    if (!m) return null;
    const map: Record<string, LinearName[]> = {
      'attn.c_attn': QKV,
      'attn.c_proj': ['o_proj'],
      'mlp.c_fc': ['up_proj'],
      'mlp.c_proj': ['down_proj'],
    };
    return { layer: Number(m[1]), targets: map[m[2]] };
  }
  const m =
    /^(?:model\.)?layers\.(\d+)\.(?:self_attn|mlp)\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)$/.exec(
      module,
    );
  return m ? { layer: Number(m[1]), targets: [m[2] as LinearName] } : null;
}

/** PEFT pattern lookup: a key matches a module when the module name ends with ".key" (or equals it). */
function patternValue(pattern: unknown, module: string): number | undefined {
  if (!pattern || typeof pattern !== 'object') return undefined;
  for (const [k, v] of Object.entries(pattern as Record<string, unknown>)) {
    if (typeof v === 'number' && (module === k || module.endsWith('.' + k))) return v;
  }
  return undefined;
}

/** |alpha / r| above this is refused: the most `train --lora-alpha` (at most 1e6, r at least 1) can write. */
const MAX_LORA_SCALE = 1e6;
/** An adapter whose update can exceed this per weight is refused (model weights are of order 1). */
const MAX_LORA_DELTA = 1e7;

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
/** An upper bound of |scale · (B A)[i][j]| over the whole update. */
function deltaBound(A: Float32Array, B: Float32Array, rank: number, scale: number): number {
  return Math.abs(scale) * rank * maxAbs(A) * maxAbs(B);
}

/**
 * PEFT files → LoraSnapshot for `model`. Adapters of different rank or alpha (rank_pattern,
 * alpha_pattern, GPT-2's fused c_attn) are brought to one rank R (the largest) by zero-padding,
 * and each B is rescaled so every module keeps its own alpha/r exactly.
 */
export async function fromPeft(
  adapterConfig: Record<string, unknown>,
  weights: Uint8Array,
  model: ModelConfig,
  fileName = 'adapter_model.safetensors',
): Promise<LoraSnapshot> {
  if (adapterConfig.peft_type !== 'LORA')
    throw new PeftError(
      `adapter_config.json: peft_type is ${JSON.stringify(adapterConfig.peft_type)}, only "LORA" is supported`,
    );
  if (adapterConfig.use_dora) throw new PeftError('adapter_config.json: DoRA adapters (use_dora) are not supported');
  const r0 = Number(adapterConfig.r);
  const a0 = Number(adapterConfig.lora_alpha ?? r0);
  if (!(r0 >= 1)) throw new PeftError(`adapter_config.json: r is ${JSON.stringify(adapterConfig.r)}`);
  const rslora = Boolean(adapterConfig.use_rslora);
  const reader = await SafetensorsReader.open(weights, fileName);
  const labTargets = reader.metadata?.['clo_lab.targets']?.split(',') ?? null;

  type Pair = { A?: { shape: number[]; data: Float32Array }; B?: { shape: number[]; data: Float32Array } };
  const byModule = new Map<string, Pair>();
  for (const key of reader.names()) {
    const m = /^(?:base_model\.model\.)?(.+)\.lora_([AB])(?:\.default)?\.weight$/.exec(key);
    if (!m) {
      if (/lora_embedding|modules_to_save/.test(key))
        throw new PeftError(`${fileName}: tensor "${key}" (embedding adapters / modules_to_save) is not supported`);
      continue;
    }
    const p = byModule.get(m[1]) ?? {};
    p[m[2] as 'A' | 'B'] = await reader.readFloat(key);
    byModule.set(m[1], p);
  }
  if (byModule.size === 0) throw new PeftError(`${fileName}: no lora_A/lora_B tensors found`);

  type Part = {
    layer: number;
    target: LinearName;
    A: Float32Array;
    B: Float32Array;
    rank: number;
    inF: number;
    outF: number;
    scale: number;
  };
  const parts: Part[] = [];
  for (const [module, p] of byModule) {
    const where = moduleToTargets(module, model.arch);
    if (!where) throw new PeftError(`${fileName}: module "${module}" does not match a ${model.arch} linear layer`);
    if (!p.A || !p.B) throw new PeftError(`${fileName}: module "${module}" lacks its lora_${p.A ? 'B' : 'A'}.weight`);
    if (where.layer >= model.nLayers)
      throw new PeftError(`${fileName}: module "${module}" is past the model's ${model.nLayers} layers`);
    const [rank, inF] = p.A.shape;
    const [outAll, rankB] = p.B.shape;
    if (rankB !== rank)
      throw new PeftError(`${fileName}: module "${module}": lora_A is [${p.A.shape}] but lora_B is [${p.B.shape}]`);
    const r = patternValue(adapterConfig.rank_pattern, module) ?? r0;
    const alpha = patternValue(adapterConfig.alpha_pattern, module) ?? a0;
    if (r !== rank)
      throw new PeftError(`${fileName}: module "${module}" has rank ${rank}, adapter_config.json says ${r}`);
    const scale = rslora ? alpha / Math.sqrt(r) : alpha / r;
    if (!Number.isFinite(scale) || Math.abs(scale) > MAX_LORA_SCALE)
      throw new PeftError(
        `adapter_config.json: module "${module}": lora_alpha ${alpha} with r ${r} gives the scale ${scale}; at most ${MAX_LORA_SCALE} is a sane adapter`,
      );
    const bound = deltaBound(p.A.data, p.B.data, rank, scale);
    if (bound > MAX_LORA_DELTA)
      throw new PeftError(
        `${fileName}: module "${module}": its update can reach ${bound.toExponential(2)} per weight (scale × rank × max|A| × max|B|); at most ${MAX_LORA_DELTA} is a sane adapter`,
      );
    const outF = outAll / where.targets.length;
    for (const t of where.targets) {
      // before any row reordering: an adapter made for another model is named as such, not as a layout error
      const [wantOut, wantIn] = linearShape(model, t);
      if (inF !== wantIn)
        throw new PeftError(
          `${fileName}: tensor "${where.layer}.${t}.lora_A" is [${rank},${inF}], the model needs [${rank},${wantIn}] (adapter made for another model?)`,
        );
      if (outF !== wantOut)
        throw new PeftError(
          `${fileName}: tensor "${where.layer}.${t}.lora_B" is [${outF},${rank}], the model needs [${wantOut},${rank}] (adapter made for another model?)`,
        );
    }
    for (let k = 0; k < where.targets.length; k++) {
      const B = p.B.data.subarray(k * outF * rank, (k + 1) * outF * rank);
      // fused GPT-2 c_attn: keep the q/k/v blocks the lab trained (metadata), else the non-zero ones
      if (where.targets.length > 1 && (labTargets ? !labTargets.includes(where.targets[k]) : B.every((x) => x === 0)))
        continue;
      parts.push({ layer: where.layer, target: where.targets[k], A: p.A.data, B, rank, inF, outF, scale });
    }
  }
  if (parts.length === 0) throw new PeftError(`${fileName}: every adapter is zero and no targets are recorded`);
  const R = Math.max(...parts.map((p) => p.rank));
  const s = parts[0].scale;
  const targets = [...new Set(parts.map((p) => p.target))].sort(
    (a, b) => LINEAR_NAMES.indexOf(a) - LINEAR_NAMES.indexOf(b),
  );
  const config: LoraConfig = {
    r: R,
    alpha: s * R,
    dropout: Number(adapterConfig.lora_dropout ?? 0),
    targets,
    init: 'gaussian',
  };
  const tensors: LoraSnapshot['tensors'] = {};
  for (const p of parts) {
    const A = new Float32Array(R * p.inF);
    A.set(p.A.subarray(0, p.rank * p.inF));
    let B: Float32Array = new Float32Array(p.outF * R);
    const f = p.scale / s;
    for (let o = 0; o < p.outF; o++) for (let c = 0; c < p.rank; c++) B[o * R + c] = p.B[o * p.rank + c] * f;
    const heads = ropeRowHeads(model, p.target);
    if (heads) B = permuteHalfToInterleaved(B, heads, model.headDim, R);
    tensors[`${p.layer}.${p.target}`] = { A, B, aShape: [R, p.inF], bShape: [p.outF, R] };
  }
  return { config, tensors };
}

export function peftFileMap(files: PeftFiles): Map<string, Uint8Array> {
  return new Map([
    ['adapter_config.json', new TextEncoder().encode(JSON.stringify(files.adapterConfig, null, 2) + '\n')],
    ['adapter_model.safetensors', files.weights],
  ]);
}
