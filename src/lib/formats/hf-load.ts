/**
 * Loads a Hugging Face model folder (config.json, *.safetensors [+ model.safetensors.index.json],
 * tokenizer.json [+ tokenizer_config.json]) from any FileSource into a LoadedModel.
 * Tensors are read one at a time (ranged reads where the source offers them).
 */
import type { LoadedModel } from '../model/model';
import type { ModelConfig } from '../model/config';
import { HfTokenizer } from '../tokenizer/hf';
import { rootedAt, type FileSource } from './file-source';
import { hfConfigToModelConfig, type HfConfigJson } from './hf-config';
import { hfTensorsToWeights, shardedSource, type TensorSource } from './hf-weights';
import { SafetensorsReader } from './safetensors';
import { resolveBase, type BaseChoice } from '../model/base-format';

export class HfLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HfLoadError';
  }
}

export interface HfLoadOptions {
  /** called before any weight is read, with the parsed config; throw to refuse (memory guard) */
  checkConfig?: (config: ModelConfig) => void;
  /** progress while tensors are converted */
  onTensor?: (done: number, total: number, name: string) => void;
  /**
   * the frozen base's precision (model/base-format.ts; default 'f32'): a packed base is packed matrix by
   * matrix while loading, so the f32 block matrices are never all held at once
   */
  base?: BaseChoice;
}

function parseJson(bytes: Uint8Array, where: string): Record<string, unknown> {
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes));
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new HfLoadError(`${where}: invalid JSON (${(e as Error).message})`);
  }
}

/** Names of the safetensors files that hold the weights (from the index when sharded). */
export async function weightFiles(src: FileSource): Promise<string[]> {
  const files = src.list();
  const where = src.description ?? 'model';
  if (files.includes('model.safetensors.index.json')) {
    const idx = parseJson(await src.read('model.safetensors.index.json'), `${where}/model.safetensors.index.json`);
    const map = idx.weight_map as Record<string, string> | undefined;
    if (!map || typeof map !== 'object')
      throw new HfLoadError(`${where}/model.safetensors.index.json: no "weight_map"`);
    const shards = [...new Set(Object.values(map))].sort();
    for (const s of shards)
      if (!files.includes(s))
        throw new HfLoadError(`${where}: shard "${s}" named in model.safetensors.index.json is missing`);
    return shards;
  }
  if (files.includes('model.safetensors')) return ['model.safetensors'];
  const any = files.filter((f) => f.endsWith('.safetensors') && !f.includes('/') && !f.startsWith('adapter_')).sort();
  if (any.length) return any;
  if (files.some((f) => f.endsWith('.bin') || f.endsWith('.pt') || f.endsWith('.pth')))
    throw new HfLoadError(
      `${where}: only PyTorch .bin/.pt weights found; this lab reads safetensors (convert with safetensors' convert script or save_pretrained(safe_serialization=True))`,
    );
  throw new HfLoadError(`${where}: no *.safetensors weights found`);
}

export async function openWeights(src: FileSource): Promise<{ readers: SafetensorsReader[]; tensors: TensorSource }> {
  const readers: SafetensorsReader[] = [];
  const where = src.description ?? 'model';
  for (const f of await weightFiles(src)) {
    const chunked = src.chunked ? await src.chunked(f) : await src.read(f);
    readers.push(await SafetensorsReader.open(chunked, `${where}/${f}`));
  }
  return { readers, tensors: shardedSource(readers) };
}

export async function loadHfTokenizer(src: FileSource, config: ModelConfig): Promise<HfTokenizer> {
  const files = src.list();
  const where = src.description ?? 'model';
  if (!files.includes('tokenizer.json'))
    throw new HfLoadError(`${where}: no tokenizer.json (only the fast-tokenizer format is supported)`);
  const tj = parseJson(await src.read('tokenizer.json'), `${where}/tokenizer.json`);
  const tc = files.includes('tokenizer_config.json')
    ? parseJson(await src.read('tokenizer_config.json'), `${where}/tokenizer_config.json`)
    : {};
  return new HfTokenizer(tj, tc, {
    bosTokenId: config.bosId,
    eosTokenId: config.eosId,
    fileName: `${where}/tokenizer.json`,
  });
}

/** Reads config.json alone (for the memory guard and "info" before loading). */
export async function readHfConfig(source: FileSource): Promise<{ json: HfConfigJson; config: ModelConfig }> {
  const src = rootedAt(source, 'config.json');
  const where = src.description ?? 'model';
  if (!src.list().includes('config.json'))
    throw new HfLoadError(`${where}: no config.json (not a Hugging Face model folder?)`);
  const json = parseJson(await src.read('config.json'), `${where}/config.json`);
  return { json, config: hfConfigToModelConfig(json, `${where}/config.json`) };
}

export async function loadHfModel(source: FileSource, name: string, opts: HfLoadOptions = {}): Promise<LoadedModel> {
  const src = rootedAt(source, 'config.json');
  const where = src.description ?? name;
  const { config: parsed } = await readHfConfig(src);
  opts.checkConfig?.(parsed);
  const tokenizer = await loadHfTokenizer(src, parsed);
  if (tokenizer.vocabSize > parsed.vocabSize)
    throw new HfLoadError(
      `${where}: tokenizer has ${tokenizer.vocabSize} tokens but config.json vocab_size is ${parsed.vocabSize}`,
    );
  const { tensors } = await openWeights(src);
  let done = 0;
  const total = tensors.names().length;
  const counted: TensorSource = opts.onTensor
    ? {
        ...tensors,
        readFloat: async (n) => {
          const r = await tensors.readFloat(n);
          opts.onTensor!(++done, total, n);
          return r;
        },
      }
    : tensors;
  const format = resolveBase(opts.base ?? 'f32', parsed);
  const { config, weights } = await hfTensorsToWeights(counted, parsed, where, format);
  const cfg: ModelConfig = {
    ...config,
    bosId: tokenizer.bosId,
    eosId: tokenizer.eosId ?? config.eosId,
  };
  return { name, config: cfg, weights, tokenizer, source: source.description ?? name };
}
