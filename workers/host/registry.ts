/**
 * The page's workers, one typed job client each (./job-worker.ts): the only place that starts a
 * worker. Stores call jobs (`evalJobs.call('evaluate', args, { onProgress, signal })`) and never hold
 * a Worker themselves.
 */
import { specKey } from '../../src/lib/formats/model-spec';
import { recordTensors, type TensorSample } from './debug';
import { JobWorker, type WorkerLike } from './job-worker';
import type { EvalJobs, EvalReady, EvalSettings } from '../eval/protocol';

const asWorker = (w: Worker) => w as unknown as WorkerLike;

export const evalJobs = new JobWorker<EvalJobs, EvalSettings, EvalReady>(
  {
    name: 'evaluation worker',
    create: () =>
      asWorker(new Worker(new URL('../eval/eval.worker.ts', import.meta.url), { type: 'module', name: 'eval' })),
    key: (s) => `${s.backend ?? 'auto'}|${s.model ? specKey(s.model) : 'embedded'}`,
    onResult: (_, r) => recordTensors('eval', (r as { tensors?: TensorSample }).tensors),
  },
  {},
);
