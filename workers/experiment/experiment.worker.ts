/// <reference lib="webworker" />
/**
 * The experiment worker: runs a recipe's arms one after another (src/lib/experiment/runner.ts) on
 * stories260K, keeping progress and checkpoints in IndexedDB so a reload resumes the arm it was in.
 * It boots through the worker host (workers/host/boot.ts) on the header's backend; its one job
 * (./protocol.ts) is served by the job runtime (../host/jobs.ts).
 */
import { idbStore } from '../../src/lib/store/idb';
import { kvExperimentStore } from '../../src/lib/store/experiments';
import { fetchDataSource } from '../../src/lib/eval/data';
import { runExperiment } from '../../src/lib/experiment/runner';
import type { BackendName } from '../../src/lib/backend/order';
import type { LoadedModel } from '../../src/lib/model/model';
import { bootHost, ModelHost } from '../host/boot';
import { serveJobs, type JobContext } from '../host/jobs';
import type { ExperimentArgs, ExperimentEvent, ExperimentJobs, ExperimentReady } from './protocol';

const host = new ModelHost();
let model: LoadedModel | null = null;
let backend = '';

async function boot(s: { backend?: BackendName }): Promise<ExperimentReady> {
  const info = await bootHost({ backend: s.backend ?? null }, host);
  model = await host.ensure();
  backend = info.backend;
  return { backend: info.backend };
}

const nextTask = () => new Promise<void>((r) => setTimeout(r, 0));

async function experiment(cmd: ExperimentArgs, { signal, progress: post }: JobContext<ExperimentEvent>): Promise<null> {
  if (!model) throw new Error('model failed to load');
  const store = kvExperimentStore(idbStore());
  const baseStore = {
    ...store,
    set: async <T>(i: string, k: string, v: T) => {
      await store.set(i, k, v);
      if (k === 'state') post({ type: 'saved' });
    },
  };
  let last = 0;
  await runExperiment(cmd.recipe, cmd.id, {
    model,
    source: fetchDataSource(new URL('/data', self.location.origin).href),
    store: baseStore,
    backend,
    signal,
    log: (message) => post({ type: 'log', message }),
    onProgress: (progress) => {
      const now = performance.now();
      if (progress.metrics || now - last > 250 || progress.phase === 'done') {
        last = now;
        post({ type: 'progress', progress });
      }
    },
    yieldEvery: nextTask,
  });
  return null;
}

serveJobs<ExperimentJobs, { backend?: BackendName }, ExperimentReady>('experiment worker', {
  boot,
  jobs: { experiment },
});
