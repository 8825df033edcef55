/// <reference lib="webworker" />
/**
 * The experiment worker: runs a recipe's arms one after another (src/lib/experiment/runner.ts) on
 * stories260K, keeping progress and checkpoints in IndexedDB so a reload resumes the arm it was in.
 * Boot is the smallest copy of workers/train.worker.ts' (wasm paths, single-threaded wasm, backend
 * choice, model fetch); switch it to the shared worker host once that lands.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../../src/lib/backend/select';
import { loadLlama2c } from '../../src/lib/formats/llama2c';
import type { LoadedModel } from '../../src/lib/model/model';
import { idbStore } from '../../src/lib/store/idb';
import { kvExperimentStore } from '../../src/lib/store/experiments';
import { fetchDataSource } from '../../src/lib/eval/data';
import { CancelledError, runExperiment } from '../../src/lib/experiment/runner';
import { BACKEND_ORDER } from '../protocol';
import type { ExperimentCommand, ExperimentEvent } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

setWasmPaths('/tfjs-wasm/');
// as in train.worker.ts: the threaded wasm build breaks once minified
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);

const post = (e: ExperimentEvent) => self.postMessage(e);
let model: LoadedModel | null = null;
let backend = '';
let controller: AbortController | null = null;

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function boot(forced: string | null | undefined): Promise<LoadedModel> {
  if (model) return model;
  const picked = await selectBackend((forced ?? null) as Parameters<typeof selectBackend>[0], BACKEND_ORDER);
  backend = picked.name;
  const [bin, tok] = await Promise.all([fetchBytes('/models/stories260K/stories260K.bin'), fetchBytes('/models/stories260K/tok512.bin')]);
  model = loadLlama2c(bin, tok, 'stories260K', 'stories260K', 'stories260K.bin', 'tok512.bin');
  post({ type: 'ready', backend });
  return model;
}

const nextTask = () => new Promise<void>((r) => setTimeout(r, 0));

self.onmessage = async (ev: MessageEvent<ExperimentCommand>) => {
  const cmd = ev.data;
  if (cmd.type === 'cancel') {
    controller?.abort();
    return;
  }
  if (controller) return post({ type: 'error', id: cmd.id, message: 'an experiment is already running' });
  controller = new AbortController();
  const id = cmd.id;
  try {
    const m = await boot(cmd.backend);
    const store = kvExperimentStore(idbStore());
    const baseStore = { ...store, set: async <T,>(i: string, k: string, v: T) => { await store.set(i, k, v); if (k === 'state') post({ type: 'saved', id }); } };
    let last = 0;
    await runExperiment(cmd.recipe, id, {
      model: m,
      source: fetchDataSource(new URL('/data', self.location.origin).href),
      store: baseStore,
      backend,
      signal: controller.signal,
      log: (message) => post({ type: 'log', id, message }),
      onProgress: (progress) => {
        const now = performance.now();
        if (progress.metrics || now - last > 250 || progress.phase === 'done') {
          last = now;
          post({ type: 'progress', id, progress });
        }
      },
      yieldEvery: nextTask,
    });
    post({ type: 'done', id });
  } catch (e) {
    if (e instanceof CancelledError || controller.signal.aborted) post({ type: 'cancelled', id });
    else post({ type: 'error', id, message: e instanceof Error ? e.message : String(e) });
  } finally {
    controller = null;
  }
};
