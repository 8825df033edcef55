/// <reference lib="webworker" />
/**
 * The experiment worker: runs a recipe's arms one after another (src/lib/experiment/runner.ts) on
 * stories260K, keeping progress and checkpoints in IndexedDB so a reload resumes the arm it was in.
 * It boots through the worker host (workers/host/boot.ts) like the train and eval workers.
 */
import { idbStore } from '../../src/lib/store/idb';
import { kvExperimentStore } from '../../src/lib/store/experiments';
import { fetchDataSource } from '../../src/lib/eval/data';
import { CancelledError, runExperiment } from '../../src/lib/experiment/runner';
import type { BackendName } from '../../src/lib/backend/order';
import type { LoadedModel } from '../../src/lib/model/model';
import { bootHost, errText, forwardUnhandled, ModelHost } from '../host/boot';
import type { ExperimentCommand, ExperimentEvent } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

const post = (e: ExperimentEvent) => self.postMessage(e);
const host = new ModelHost();
/** the boot for the backend the page asked for; a different choice in the header boots again */
let booted: { forced: string | null; ready: Promise<{ model: LoadedModel; backend: string }> } | null = null;
let controller: AbortController | null = null;
forwardUnhandled((message) => post({ type: 'error', id: '', message }));

function boot(forced: string | null | undefined): Promise<{ model: LoadedModel; backend: string }> {
  const key = forced ?? null;
  if (booted?.forced === key) return booted.ready;
  const ready = (async () => {
    const info = await bootHost({ backend: key as BackendName | null }, host);
    post({ type: 'ready', backend: info.backend });
    return { model: await host.ensure(), backend: info.backend };
  })();
  booted = { forced: key, ready };
  ready.catch(() => {
    if (booted?.ready === ready) booted = null;
  });
  return ready;
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
    const { model: m, backend } = await boot(cmd.backend);
    const store = kvExperimentStore(idbStore());
    const baseStore = {
      ...store,
      set: async <T>(i: string, k: string, v: T) => {
        await store.set(i, k, v);
        if (k === 'state') post({ type: 'saved', id });
      },
    };
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
    else post({ type: 'error', id, message: errText(e) });
  } finally {
    controller = null;
  }
};
