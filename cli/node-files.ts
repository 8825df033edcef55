/**
 * Node side of the Hugging Face formats: a FileSource over a directory (ranged reads through
 * fs.promises.open, so multi-GB safetensors never need one big buffer), and the loaders the
 * CLI's --model DIR / --adapter DIR use.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import type { FileSource } from '../src/lib/formats/file-source';
import type { ChunkedSource } from '../src/lib/formats/safetensors';
import { loadHfModel, type HfLoadOptions } from '../src/lib/formats/hf-load';
import { fromPeft } from '../src/lib/formats/peft';
import { loraFromSnapshot } from '../src/lib/lora/lora';
import type { LoraState } from '../src/lib/lora/types';
import type { LoadedModel } from '../src/lib/model/model';
import { validateAdapter, validateAdapterConfig } from '../src/lib/lora/validate-adapter';

function walk(dir: string, root: string, out: string[], depth: number): void {
  if (depth > 4) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, root, out, depth + 1);
    else if (e.isFile()) out.push(relative(root, p).split(sep).join('/'));
  }
}

/** Ranged reads of one file; the handle is opened per read so nothing leaks if loading stops. */
export function fileChunks(path: string): ChunkedSource {
  const size = statSync(path).size;
  return {
    size,
    async read(offset, length) {
      const len = Math.max(0, Math.min(length, size - offset));
      const buf = new Uint8Array(len);
      const fh = await open(path, 'r');
      try {
        let got = 0;
        while (got < len) {
          const { bytesRead } = await fh.read(buf, got, len - got, offset + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return got === len ? buf : buf.subarray(0, got);
      } finally {
        await fh.close();
      }
    },
  };
}

export function dirSource(dir: string): FileSource {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new Error(`${dir}: not a directory`);
  const files: string[] = [];
  walk(root, root, files, 0);
  const path = (name: string) => {
    const p = resolve(root, name);
    if (!p.startsWith(root + sep)) throw new Error(`${dir}: "${name}" is outside the folder`);
    if (!existsSync(p)) throw new Error(`${dir}: no file "${name}"`);
    return p;
  };
  return {
    description: dir,
    list: () => [...files],
    read: async (name) => new Uint8Array(readFileSync(path(name))),
    chunked: (name) => fileChunks(path(name)),
  };
}

/** `--model DIR` for a Hugging Face folder (config.json, *.safetensors, tokenizer.json). */
export async function loadHfModelFromDir(dir: string, opts: HfLoadOptions = {}): Promise<LoadedModel> {
  return loadHfModel(dirSource(dir), basename(resolve(dir)), opts);
}

/** `--adapter DIR` for a PEFT folder (adapter_config.json, adapter_model.safetensors). */
export async function loadPeftAdapterFromDir(dir: string, model: LoadedModel): Promise<LoraState> {
  const cfgPath = resolve(dir, 'adapter_config.json');
  const wPath = resolve(dir, 'adapter_model.safetensors');
  if (!existsSync(cfgPath)) throw new Error(`--adapter: ${cfgPath} not found (expected a PEFT adapter folder)`);
  if (!existsSync(wPath)) {
    const bin = resolve(dir, 'adapter_model.bin');
    throw new Error(
      existsSync(bin)
        ? `--adapter: ${bin} is a PyTorch pickle; save the adapter with safe_serialization=True`
        : `--adapter: ${wPath} not found`,
    );
  }
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
  } catch (e) {
    throw new Error(`${cfgPath}: invalid JSON (${(e as Error).message})`, { cause: e });
  }
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg))
    throw new Error(`${cfgPath}: expected a JSON object`);
  validateAdapterConfig(cfg, cfgPath);
  const snap = await fromPeft(cfg, new Uint8Array(readFileSync(wPath)), model.config, wPath);
  for (const w of validateAdapter(snap, model, wPath, cfg)) process.stderr.write(`warning: ${w}\n`);
  return loraFromSnapshot(snap);
}
