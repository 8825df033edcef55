/**
 * The page's workers, one typed job client each (./job-worker.ts): the only place that starts a
 * worker. Stores call jobs (`evalJobs.call('evaluate', args, { onProgress, signal })`) and never hold
 * a Worker themselves.
 */
import { specKey } from '../../src/lib/formats/model-spec';
import { recordTensors, type TensorSample } from './debug';
import { JobWorker, type WorkerLike } from './job-worker';
import type { BackendName } from '../../src/lib/backend/order';
import type { EvalJobs, EvalReady, EvalSettings } from '../eval/protocol';
import type { VocabJobs, VocabReady } from '../vocab/protocol';
import type { ExperimentJobs, ExperimentReady } from '../experiment/protocol';
import type { ReadyEvent, TrainJobs, TrainSettings } from '../train/protocol';

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

export const vocabJobs = new JobWorker<VocabJobs, { backend?: BackendName }, VocabReady>(
  {
    name: 'vocabulary worker',
    create: () =>
      asWorker(new Worker(new URL('../vocab/vocab.worker.ts', import.meta.url), { type: 'module', name: 'vocab' })),
    key: (s) => s.backend ?? 'auto',
  },
  {},
);

export const experimentJobs = new JobWorker<ExperimentJobs, { backend?: BackendName }, ExperimentReady>(
  {
    name: 'experiment worker',
    create: () =>
      asWorker(
        new Worker(new URL('../experiment/experiment.worker.ts', import.meta.url), {
          type: 'module',
          name: 'experiment',
        }),
      ),
    key: (s) => s.backend ?? 'auto',
  },
  {},
);

export const trainJobs = new JobWorker<TrainJobs, TrainSettings, ReadyEvent>(
  {
    name: 'training worker',
    create: () =>
      asWorker(new Worker(new URL('../train/train.worker.ts', import.meta.url), { type: 'module', name: 'train' })),
    key: (s) => `${s.backend ?? 'auto'}|${s.model ? specKey(s.model) : 'embedded'}`,
  },
  {},
);
