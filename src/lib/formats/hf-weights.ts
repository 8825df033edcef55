/**
 * Hugging Face tensor names ↔ ModelWeights.
 *
 * Llama / Mistral / Qwen2: model.embed_tokens, model.layers.N.self_attn.{q,k,v,o}_proj,
 * model.layers.N.mlp.{gate,up,down}_proj, input_layernorm, post_attention_layernorm, model.norm,
 * lm_head (absent or tie_word_embeddings → tied). Linear weights are already [out, in].
 *
 * GPT-2: [transformer.]wte, wpe, h.N.{ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj}, ln_f.
 * Its Conv1D weights are stored [in, out] and are transposed; c_attn is split into q/k/v.
 */
import { PackedWeight } from '../model/packed-base';
import { packMatrix, unpackMatrix } from '../model/kernels/packed-matmul/pack';
import type { BaseFormat } from '../model/base-format';
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../model/config';
import type { LayerWeights, Linear, LinearName, ModelWeights, Norm } from '../model/weights';
import type { SafetensorsReader, WriteTensor } from './safetensors';

/** A set of named float tensors, possibly spread over several shards. */
export interface TensorSource {
  has(name: string): boolean;
  names(): string[];
  shape(name: string): number[];
  readFloat(name: string): Promise<{ shape: number[]; data: Float32Array }>;
}

export class HfWeightsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HfWeightsError';
  }
}

/** One TensorSource over several safetensors files (a sharded checkpoint or a single file). */
export function shardedSource(readers: SafetensorsReader[]): TensorSource {
  const where = new Map<string, SafetensorsReader>();
  for (const r of readers) {
    for (const n of r.names()) {
      const prev = where.get(n);
      if (prev) throw new HfWeightsError(`tensor "${n}" appears in both ${prev.fileName} and ${r.fileName}`);
      where.set(n, r);
    }
  }
  return {
    has: (n) => where.has(n),
    names: () => [...where.keys()],
    shape: (n) => where.get(n)!.info(n).shape,
    readFloat: (n) => {
      const r = where.get(n);
      if (!r) throw new HfWeightsError(`no tensor named "${n}" in ${readers.map((x) => x.fileName).join(', ')}`);
      return r.readFloat(n);
    },
  };
}

function eq(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Transposes a row-major [rows, cols] matrix. */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

class Loader {
  constructor(
    private readonly src: TensorSource,
    private readonly where: string,
  ) {}
  private resolve(names: string[]): string {
    for (const n of names) if (this.src.has(n)) return n;
    throw new HfWeightsError(`${this.where}: missing tensor "${names[0]}"`);
  }
  async get(names: string | string[], shape: number[]): Promise<Float32Array> {
    const name = this.resolve(Array.isArray(names) ? names : [names]);
    const t = await this.src.readFloat(name);
    if (!eq(t.shape, shape))
      throw new HfWeightsError(
        `${this.where}: tensor "${name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`,
      );
    const d = t.data;
    for (let i = 0; i < d.length; i++)
      if (!Number.isFinite(d[i]))
        throw new HfWeightsError(
          `${this.where}: tensor "${name}" has ${d[i]} at index ${i} (a corrupt or diverged checkpoint)`,
        );
    return d;
  }
  has(names: string[]): boolean {
    return names.some((n) => this.src.has(n));
  }
}

/** Candidate names with and without a prefix (checkpoints saved from the base model lack it). */
function alt(prefix: string, rest: string): string[] {
  return [prefix + rest, rest];
}

async function loadLlamaFamily(
  src: TensorSource,
  c: ModelConfig,
  where: string,
  base: BaseFormat,
): Promise<ModelWeights> {
  const L = new Loader(src, where);
  const p = (rest: string) => alt('model.', rest);
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  const made: { dispose(): void }[] = [];
  const t2 = (d: Float32Array, s: [number, number]) => {
    const t = tf.tensor2d(d, s);
    made.push(t);
    return t;
  };
  // a frozen block matrix packed as it is read: only its packed form is ever a tensor
  const w2 = (d: Float32Array, s: [number, number]): Linear['w'] => {
    if (base === 'f32') return t2(d, s);
    const w = new PackedWeight(packMatrix(d, s[0], s[1], base));
    made.push(w);
    return w;
  };
  const t1 = (d: Float32Array) => {
    const t = tf.tensor1d(d);
    made.push(t);
    return t;
  };
  try {
    const embed = t2(await L.get(p('embed_tokens.weight'), [c.vocabSize, c.dim]), [c.vocabSize, c.dim]);
    const layers: LayerWeights[] = [];
    const shapes: Record<LinearName, [number, number]> = {
      q_proj: [q, c.dim],
      k_proj: [kv, c.dim],
      v_proj: [kv, c.dim],
      o_proj: [c.dim, q],
      gate_proj: [c.hiddenDim, c.dim],
      up_proj: [c.hiddenDim, c.dim],
      down_proj: [c.dim, c.hiddenDim],
    };
    const hasBias = (n: LinearName) =>
      n === 'q_proj' || n === 'k_proj' || n === 'v_proj' ? c.bias.qkv : n === 'o_proj' ? c.bias.o : c.bias.mlp;
    for (let i = 0; i < c.nLayers; i++) {
      const at = `layers.${i}.`;
      const linears: Partial<Record<LinearName, Linear>> = {};
      for (const n of Object.keys(shapes) as LinearName[]) {
        const mod = n === 'gate_proj' || n === 'up_proj' || n === 'down_proj' ? 'mlp' : 'self_attn';
        const s = shapes[n];
        const lin: Linear = { w: w2(await L.get(p(`${at}${mod}.${n}.weight`), s), s) };
        if (hasBias(n)) lin.b = t1(await L.get(p(`${at}${mod}.${n}.bias`), [s[0]]));
        linears[n] = lin;
      }
      layers.push({
        attnNorm: { w: t1(await L.get(p(`${at}input_layernorm.weight`), [c.dim])) },
        mlpNorm: { w: t1(await L.get(p(`${at}post_attention_layernorm.weight`), [c.dim])) },
        linears,
      });
    }
    const finalNorm: Norm = { w: t1(await L.get(p('norm.weight'), [c.dim])) };
    const w: ModelWeights = { embed, layers, finalNorm };
    if (!c.tiedEmbeddings && L.has(['lm_head.weight']))
      w.lmHead = t2(await L.get('lm_head.weight', [c.vocabSize, c.dim]), [c.vocabSize, c.dim]);
    return w;
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  }
}

async function loadGpt2(src: TensorSource, c: ModelConfig, where: string): Promise<ModelWeights> {
  const L = new Loader(src, where);
  const p = (rest: string) => alt('transformer.', rest);
  const d = c.dim;
  const h = c.hiddenDim;
  const made: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => {
    made.push(t);
    return t;
  };
  /** Conv1D weight [in, out] → Linear w [out, in] */
  const conv = async (name: string, inF: number, outF: number) =>
    transpose2d(await L.get(p(name), [inF, outF]), inF, outF);
  const norm = async (name: string): Promise<Norm> => ({
    w: keep(tf.tensor1d(await L.get(p(`${name}.weight`), [d]))),
    b: keep(tf.tensor1d(await L.get(p(`${name}.bias`), [d]))),
  });
  try {
    const embed = keep(tf.tensor2d(await L.get(p('wte.weight'), [c.vocabSize, d]), [c.vocabSize, d]));
    const posEmbed = keep(tf.tensor2d(await L.get(p('wpe.weight'), [c.maxSeqLen, d]), [c.maxSeqLen, d]));
    const layers: LayerWeights[] = [];
    for (let i = 0; i < c.nLayers; i++) {
      const b = `h.${i}.`;
      const qkvW = await conv(`${b}attn.c_attn.weight`, d, 3 * d); // [3d, d]
      const qkvB = await L.get(p(`${b}attn.c_attn.bias`), [3 * d]);
      const part = (k: number): Linear => ({
        w: keep(tf.tensor2d(qkvW.subarray(k * d * d, (k + 1) * d * d), [d, d])),
        b: keep(tf.tensor1d(qkvB.subarray(k * d, (k + 1) * d))),
      });
      const linears: Partial<Record<LinearName, Linear>> = {
        q_proj: part(0),
        k_proj: part(1),
        v_proj: part(2),
        o_proj: {
          w: keep(tf.tensor2d(await conv(`${b}attn.c_proj.weight`, d, d), [d, d])),
          b: keep(tf.tensor1d(await L.get(p(`${b}attn.c_proj.bias`), [d]))),
        },
        up_proj: {
          w: keep(tf.tensor2d(await conv(`${b}mlp.c_fc.weight`, d, h), [h, d])),
          b: keep(tf.tensor1d(await L.get(p(`${b}mlp.c_fc.bias`), [h]))),
        },
        down_proj: {
          w: keep(tf.tensor2d(await conv(`${b}mlp.c_proj.weight`, h, d), [d, h])),
          b: keep(tf.tensor1d(await L.get(p(`${b}mlp.c_proj.bias`), [d]))),
        },
      };
      layers.push({ attnNorm: await norm(`${b}ln_1`), mlpNorm: await norm(`${b}ln_2`), linears });
    }
    const w: ModelWeights = { embed, posEmbed, layers, finalNorm: await norm('ln_f') };
    if (!c.tiedEmbeddings && L.has(['lm_head.weight']))
      w.lmHead = keep(tf.tensor2d(await L.get('lm_head.weight', [c.vocabSize, d]), [c.vocabSize, d]));
    return w;
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  }
}

/**
 * The layers the tensors hold must be the layers the config claims: a config that says 3 layers over
 * 5 layers of tensors (or 5 over 3) is refused instead of loading part of the model.
 */
export function checkLayerCount(src: TensorSource, c: ModelConfig, where: string): void {
  const re = c.arch === 'gpt2' ? /^(?:transformer\.)?h\.(\d+)\./ : /^(?:model\.)?layers\.(\d+)\./;
  const layers = new Set<number>();
  for (const n of src.names()) {
    const m = re.exec(n);
    if (m) layers.add(Number(m[1]));
  }
  const found = layers.size === 0 ? 0 : Math.max(...layers) + 1;
  if (found !== c.nLayers || layers.size !== found) {
    const key = c.arch === 'gpt2' ? 'n_layer' : 'num_hidden_layers';
    throw new HfWeightsError(
      `${where}: config.json ${key} is ${c.nLayers} but the tensors hold ${layers.size === found ? found : `layers {${[...layers].sort((a, b) => a - b).join(',')}}`}`,
    );
  }
}

/**
 * Builds ModelWeights from HF-named tensors. `where` names the checkpoint in errors. `base` other than
 * 'f32' packs the frozen block matrices of a Llama-family model as each is read (model/packed-base.ts), so
 * loading never holds the f32 block matrices as tensors (GPT-2 checkpoints load f32 and are packed after).
 * When the config says untied but lm_head.weight is absent, the head is tied (HF does the same);
 * the returned config reflects that.
 */
export async function hfTensorsToWeights(
  src: TensorSource,
  config: ModelConfig,
  where = 'checkpoint',
  base: BaseFormat = 'f32',
): Promise<{ config: ModelConfig; weights: ModelWeights }> {
  const cfg: ModelConfig = { ...config };
  checkLayerCount(src, cfg, where);
  if (!cfg.tiedEmbeddings && !src.has('lm_head.weight')) cfg.tiedEmbeddings = true;
  const weights = cfg.arch === 'gpt2' ? await loadGpt2(src, cfg, where) : await loadLlamaFamily(src, cfg, where, base);
  return { config: cfg, weights };
}

/** HF name of a linear layer's module (without `.weight`), for PEFT keys and the merged export. */
export function hfLinearModule(arch: string, layer: number, name: LinearName): string {
  if (arch === 'gpt2') {
    const m: Partial<Record<LinearName, string>> = {
      q_proj: 'attn.c_attn',
      k_proj: 'attn.c_attn',
      v_proj: 'attn.c_attn',
      o_proj: 'attn.c_proj',
      up_proj: 'mlp.c_fc',
      down_proj: 'mlp.c_proj',
    };
    const mod = m[name];
    if (!mod) throw new HfWeightsError(`GPT-2 has no ${name}`);
    return `transformer.h.${layer}.${mod}`;
  }
  const mod = name === 'gate_proj' || name === 'up_proj' || name === 'down_proj' ? 'mlp' : 'self_attn';
  return `model.layers.${layer}.${mod}.${name}`;
}

/** The values as f32 (a packed frozen weight, model/packed-base.ts: dequantised). */
async function f32(t: tf.Tensor | PackedWeight): Promise<Float32Array> {
  if (t instanceof PackedWeight) return unpackMatrix(t.read());
  return (await t.data()) as Float32Array;
}

/**
 * ModelWeights → HF-named tensors (the inverse of hfTensorsToWeights), as float32.
 * `config.arch` 'gpt2' gives GPT-2 names (Conv1D [in,out], fused c_attn); every other arch Llama names.
 * RoPE-style conversion is the caller's job (merged.ts).
 */
export async function weightsToHfTensors(w: ModelWeights, c: ModelConfig): Promise<Map<string, WriteTensor>> {
  const out = new Map<string, WriteTensor>();
  const put = async (name: string, t: tf.Tensor | PackedWeight) =>
    out.set(name, { shape: t.shape.slice(), data: await f32(t) });
  if (c.arch === 'gpt2') {
    const d = c.dim;
    await put('transformer.wte.weight', w.embed);
    if (!w.posEmbed) throw new HfWeightsError('GPT-2 weights have no position embeddings');
    await put('transformer.wpe.weight', w.posEmbed);
    for (let i = 0; i < w.layers.length; i++) {
      const l = w.layers[i];
      const b = `transformer.h.${i}.`;
      const lin = (n: LinearName) => {
        const x = l.linears[n];
        if (!x) throw new HfWeightsError(`layer ${i} has no ${n}`);
        return x;
      };
      const conv = async (name: string, x: Linear) => {
        const [o, inn] = x.w.shape;
        out.set(`${b}${name}.weight`, { shape: [inn, o], data: transpose2d(await f32(x.w), o, inn) });
        if (x.b) await put(`${b}${name}.bias`, x.b);
      };
      const qkvW = new Float32Array(3 * d * d);
      const qkvB = new Float32Array(3 * d);
      const parts: LinearName[] = ['q_proj', 'k_proj', 'v_proj'];
      for (let k = 0; k < 3; k++) {
        const x = lin(parts[k]);
        qkvW.set(await f32(x.w), k * d * d);
        if (x.b) qkvB.set(await f32(x.b), k * d);
      }
      out.set(`${b}attn.c_attn.weight`, { shape: [d, 3 * d], data: transpose2d(qkvW, 3 * d, d) });
      out.set(`${b}attn.c_attn.bias`, { shape: [3 * d], data: qkvB });
      await conv('attn.c_proj', lin('o_proj'));
      await conv('mlp.c_fc', lin('up_proj'));
      await conv('mlp.c_proj', lin('down_proj'));
      for (const [n, norm] of [
        ['ln_1', l.attnNorm],
        ['ln_2', l.mlpNorm],
      ] as const) {
        await put(`${b}${n}.weight`, norm.w);
        if (norm.b) await put(`${b}${n}.bias`, norm.b);
      }
    }
    await put('transformer.ln_f.weight', w.finalNorm.w);
    if (w.finalNorm.b) await put('transformer.ln_f.bias', w.finalNorm.b);
    if (w.lmHead) await put('lm_head.weight', w.lmHead);
    return out;
  }
  await put('model.embed_tokens.weight', w.embed);
  for (let i = 0; i < w.layers.length; i++) {
    const l = w.layers[i];
    for (const [n, lin] of Object.entries(l.linears) as [LinearName, Linear | undefined][]) {
      if (!lin) continue;
      const mod = hfLinearModule(c.arch, i, n);
      await put(`${mod}.weight`, lin.w);
      if (lin.b) await put(`${mod}.bias`, lin.b);
    }
    await put(`model.layers.${i}.input_layernorm.weight`, l.attnNorm.w);
    await put(`model.layers.${i}.post_attention_layernorm.weight`, l.mlpNorm.w);
  }
  await put('model.norm.weight', w.finalNorm.w);
  if (w.lmHead) await put('lm_head.weight', w.lmHead);
  else if (!c.tiedEmbeddings) await put('lm_head.weight', w.embed);
  return out;
}
