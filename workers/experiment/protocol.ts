/**
 * The experiment worker's one job (workers/experiment/experiment.worker.ts, served by the job runtime
 * workers/host/jobs.ts; the page calls it through workers/host/registry.ts `experimentJobs`).
 * Tensors never cross. Cancel = the call's signal.
 */
import type { Recipe } from '../../src/lib/experiment/recipe';
import type { ExperimentProgress } from '../../src/lib/experiment/runner';
import type { JobSpec } from '../host/jobs';

export interface ExperimentArgs {
  /** the experiment's id: a new one starts, one IndexedDB holds unfinished resumes */
  id: string;
  recipe: Recipe;
}

export type ExperimentEvent =
  | { type: 'progress'; progress: ExperimentProgress }
  | { type: 'log'; message: string }
  /** the experiment record changed (a phase finished); read it from the store */
  | { type: 'saved' };

export interface ExperimentReady {
  backend: string;
}

export type ExperimentJobs = {
  experiment: JobSpec<ExperimentArgs, ExperimentEvent, null>;
};
