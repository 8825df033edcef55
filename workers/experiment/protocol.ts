/** Messages between the page and workers/experiment/experiment.worker.ts. Tensors never cross. */
import type { Recipe } from '../../src/lib/experiment/recipe';
import type { ExperimentProgress } from '../../src/lib/experiment/runner';
import type { BackendName } from '../../src/lib/backend/order';

export type ExperimentCommand =
  /** start, or resume when IndexedDB holds an unfinished experiment under `id` */
  { type: 'start'; id: string; recipe: Recipe; backend?: BackendName | null } | { type: 'cancel' };

export type ExperimentEvent =
  | { type: 'ready'; backend: string }
  | { type: 'progress'; id: string; progress: ExperimentProgress }
  | { type: 'log'; id: string; message: string }
  /** the experiment record changed (a phase finished); read it from the store */
  | { type: 'saved'; id: string }
  | { type: 'done'; id: string }
  | { type: 'cancelled'; id: string }
  | { type: 'error'; id?: string; message: string };
