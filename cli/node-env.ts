/** Node-side glue for the headless runner, tests and benchmarks: backends, model and adapter loading from disk. */
import { packFrozenBase, resolveBase, type BaseChoice } from '../src/lib/model/packed-base';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { selectAutoBackend, type BackendChoice } from '../src/lib/backend/select';
import { NODE_BACKENDS } from '../src/lib/backend/order';
import { registerLabWebgpu, type WebGPUBackendClass } from '../src/lib/backend/webgpu-device';
import { loadLlama2c } from '../src/lib/formats/llama2c';
import { installLabKernels } from '../src/lib/model/kernels/install';
import { EMBEDDED_NAME } from '../src/lib/formats/model-spec';
import { enableNodeWasmThreads, nodeWasmThreadsWanted } from './wasm-threads-node';
import type { LoadedModel } from '../src/lib/model/model';
import type { LoraState } from '../src/lib/lora/types';

// Quiet tfjs' "install tfjs-node" banner: the runner picks its backend itself and prints it.
tf.env().set('PROD', true);

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const STORIES_DIR = resolve(PROJECT_ROOT, 'public/models/stories260K');

let webgpuTried = false;
let webgpuOk = false;

/** Make `navigator.gpu` from Dawn and register tfjs' WebGPU backend, when a Vulkan driver is present. */
export async function enableNodeWebgpu(): Promise<boolean> {
  if (webgpuTried) return webgpuOk;
  webgpuTried = true;
  try {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    const gpu = create([]);
    const adapter = await gpu.requestAdapter();
    if (!adapter) return (webgpuOk = false);
    const nav = (globalThis as { navigator?: object }).navigator;
    if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
    else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    // the lab's device: the adapter's maxima, and a watch for device loss (src/lib/backend/webgpu-device.ts)
    registerLabWebgpu((await import('@tensorflow/tfjs-backend-webgpu')).WebGPUBackend as unknown as WebGPUBackendClass);
    webgpuOk = !!tf.findBackendFactory('webgpu');
  } catch {
    webgpuOk = false;
  }
  return webgpuOk;
}

/**
 * Default order in Node: a hardware WebGPU adapter first; wasm before a software (SwiftShader) WebGPU,
 * which is correct but slower on a CPU; cpu last.
 */
export async function initNodeBackend(
  preferred?: string | null,
  log: (s: string) => void = () => {},
  opts: { threads?: number } = {},
): Promise<BackendChoice> {
  const haveGpu = preferred === 'webgpu' || !preferred ? await enableNodeWebgpu() : false;
  if (preferred === 'webgpu' && !haveGpu)
    throw new Error(
      '--backend webgpu: no WebGPU adapter here (Dawn found no Vulkan driver; install Debian chromium or mesa-vulkan-drivers)',
    );
  // wasm threads (cli/wasm-threads-node.ts): set up before the backend starts, whichever is chosen
  const threadsStarted =
    !preferred || preferred === 'wasm' ? enableNodeWasmThreads(opts.threads ?? nodeWasmThreadsWanted()) : () => {};
  // the one backend list and auto rule (src/lib/backend/order.ts): a software adapter goes behind wasm
  let choice: BackendChoice;
  try {
    choice = await selectAutoBackend(
      preferred ?? null,
      haveGpu ? NODE_BACKENDS : NODE_BACKENDS.filter((b) => b !== 'webgpu'),
    );
  } finally {
    threadsStarted();
  }
  // the lab's changes to tfjs (eager backward, wasm kernels): docs/choices.md lists them
  installLabKernels(choice.name);
  log(
    `backend: ${choice.name}${choice.adapterInfo ? ` (${[choice.adapterInfo.vendor, choice.adapterInfo.architecture].filter(Boolean).join(' ')})` : ''}`,
  );
  return choice;
}

function readBytes(path: string, what: string): Uint8Array {
  if (!existsSync(path)) throw new Error(`${what}: file not found: ${path}`);
  return new Uint8Array(readFileSync(path));
}

/** `--model`: 'stories260K', a llama2.c .bin (with --tokenizer), or a Hugging Face directory. */
/**
 * A model from --model (and --tokenizer); `base` packs its frozen block matrices (model/packed-base.ts:
 * 'auto' = int8 above 100M parameters, else f32). Default 'f32': the commands that read the weights as
 * they are (export, score, eval) keep them so.
 */
export async function loadModelArg(
  spec: string,
  tokenizerPath?: string,
  base: BaseChoice = 'f32',
): Promise<LoadedModel> {
  const m = await loadModelFiles(spec, tokenizerPath, base);
  const format = resolveBase(base, m.config);
  if (format !== 'f32') packFrozenBase(m, format);
  return m;
}

/** The model's files; a Hugging Face folder has its block matrices packed as they are read (`base`). */
async function loadModelFiles(spec: string, tokenizerPath: string | undefined, base: BaseChoice): Promise<LoadedModel> {
  if (spec === EMBEDDED_NAME) {
    return loadLlama2c(
      readBytes(resolve(STORIES_DIR, 'stories260K.bin'), '--model'),
      readBytes(resolve(STORIES_DIR, 'tok512.bin'), '--model'),
      EMBEDDED_NAME,
      EMBEDDED_NAME,
      'stories260K.bin',
      'tok512.bin',
    );
  }
  if (!existsSync(spec))
    throw new Error(
      `--model: no such file or directory: ${spec} (use stories260K, a llama2.c .bin, or a Hugging Face folder)`,
    );
  if (statSync(spec).isDirectory()) {
    const mod = await import('./node-files');
    return mod.loadHfModelFromDir(spec, { base });
  }
  let tok = tokenizerPath;
  if (!tok) {
    for (const cand of ['tokenizer.bin', 'tok512.bin']) {
      const p = resolve(dirname(spec), cand);
      if (existsSync(p)) tok = p;
    }
  }
  if (!tok) throw new Error(`--tokenizer: a llama2.c checkpoint (${spec}) needs its tokenizer .bin`);
  return loadLlama2c(
    readBytes(spec, '--model'),
    readBytes(tok, '--tokenizer'),
    basename(spec).replace(/\.bin$/, ''),
    spec,
    basename(spec),
    basename(tok),
  );
}

/** `--adapter DIR`: a PEFT adapter folder. */
export async function loadAdapterArg(dir: string, model: LoadedModel): Promise<LoraState> {
  const mod = await import('./node-files');
  return mod.loadPeftAdapterFromDir(dir, model);
}
