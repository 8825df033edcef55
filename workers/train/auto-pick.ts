/**
 * "auto" in the training worker: before a run trains, the backend for its model and batch shape is
 * measured (src/lib/backend/auto-pick.ts: warm steps of a throwaway trainer on webgpu and wasm) or
 * read from the picks kept in IndexedDB, and the worker switches to it. Progress goes out as
 * `measure` events while it measures.
 */
import * as tf from '@tensorflow/tfjs';
import {
  AUTO_PICK_CANDIDATES,
  autoPick,
  formatAutoPick,
  kvAutoPickCache,
  type AutoPickReport,
  type MeasureProgress,
} from '../../src/lib/backend/auto-pick';
import type { BackendName } from '../../src/lib/backend/order';
import { webgpuAdapterInfo } from '../../src/lib/backend/select';
import { installLabKernels } from '../../src/lib/model/kernels/install';
import { copyWeights } from '../../src/lib/model/copy-weights';
import type { LoadedModel } from '../../src/lib/model/model';
import { disposeWeights, namedTensors } from '../../src/lib/model/weights';
import type { TrainRow } from '../../src/lib/data/rows';
import { Trainer } from '../../src/lib/train/trainer';
import { timeWarmSteps } from '../../src/lib/train/time-steps';
import type { TrainConfig } from '../../src/lib/train/types';
import { idbStore } from '../../src/lib/store/idb';
import { guardMemory } from '../host/memory-guard';

async function activate(b: BackendName): Promise<void> {
  if (!(await tf.setBackend(b))) throw new Error(`${b} did not start`);
  await tf.ready();
  installLabKernels(b);
}

/** The candidates this worker can run: webgpu where an adapter answers, wasm. */
async function candidates(): Promise<{ list: BackendName[]; adapter: string }> {
  const info = tf.findBackendFactory('webgpu') ? await webgpuAdapterInfo().catch(() => null) : null;
  const list = AUTO_PICK_CANDIDATES.filter((b) => (b === 'webgpu' ? !!info : !!tf.findBackendFactory(b)));
  const adapter = info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' / ') : 'none';
  return { list, adapter };
}

/** Measures (or reads the kept pick for) the run's model and shape and leaves tfjs on the choice. */
export async function pickBackendForRun(opts: {
  model: LoadedModel;
  rows: TrainRow[];
  config: TrainConfig;
  /** wasm threads asked for at boot (part of what the speed depends on) */
  threads?: number;
  signal?: AbortSignal;
  onProgress(p: MeasureProgress): void;
}): Promise<AutoPickReport> {
  const { model, rows, config } = opts;
  const { list, adapter } = await candidates();
  const home = tf.getBackend();
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  const { pick, measured } = await autoPick<Trainer>(
    {
      model: model.name,
      objective: config.objective,
      batchSize: config.batchSize,
      gradAccum: config.gradAccum,
      maxSeqLen: config.maxSeqLen,
    },
    {
      cache: kvAutoPickCache(idbStore()),
      device: `adapter ${adapter}; ${cores} cores; threads ${opts.threads ?? 'default'}`,
      candidates: list,
      activate,
      time: timeWarmSteps,
      trainer: async (b) => {
        guardMemory(model.config, { train: config });
        // enough steps for the measurement whatever the run's length (only its schedule differs)
        const cfg = { ...config, steps: Math.max(config.steps, 8) };
        if (b === home) return Trainer.create(model, rows, cfg);
        const weights = await copyWeights(model.weights);
        const t = Trainer.create({ ...model, weights }, rows, cfg);
        const dispose = t.dispose.bind(t);
        t.dispose = () => {
          dispose();
          disposeWeights(weights);
        };
        return t;
      },
      carry: () => namedTensors(model.weights).values(),
      signal: opts.signal,
      onProgress: opts.onProgress,
    },
  );
  return { line: formatAutoPick(pick), pick, measured };
}
