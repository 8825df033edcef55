/**
 * `train --backend auto` in Node, measured as the browser's training worker measures it
 * (workers/train/auto-pick.ts): a throwaway trainer of the run's model and shape takes warm steps on
 * each backend that runs here (webgpu where Dawn finds an adapter, wasm), the faster by tokens/s is
 * kept (src/lib/backend/auto-pick.ts, src/lib/train/time-steps.ts) and tfjs is left on it. The
 * backend in use when it starts (initNodeBackend's default) is measured first, on the model itself;
 * another one trains on its own copy of the weights, so a step left running past its budget holds
 * nothing the run needs. Picks are kept for this process only.
 */
import * as tf from '@tensorflow/tfjs';
import {
  AUTO_PICK_CANDIDATES,
  autoPick,
  formatAutoPick,
  memoryAutoPickCache,
  type AutoPickReport,
} from '../src/lib/backend/auto-pick';
import type { BackendName } from '../src/lib/backend/order';
import { webgpuAdapterInfo, type BackendChoice } from '../src/lib/backend/select';
import { installLabKernels } from '../src/lib/model/kernels/install';
import { copyWeights } from '../src/lib/model/copy-weights';
import type { LoadedModel } from '../src/lib/model/model';
import { disposeWeights, namedTensors, packedWeights } from '../src/lib/model/weights';
import type { TrainRow, RowSource } from '../src/lib/data/rows';
import { Trainer } from '../src/lib/train/trainer';
import { timeWarmSteps } from '../src/lib/train/time-steps';
import type { TrainConfig } from '../src/lib/train/types';
import { trainMemoryAdvice } from './memory-guard';

const pickCache = memoryAutoPickCache();

async function activate(b: BackendName): Promise<void> {
  if (!(await tf.setBackend(b))) throw new Error(`${b} did not start`);
  await tf.ready();
  installLabKernels(b);
}

/**
 * Measures the run's model and shape on webgpu (when `webgpu` is true: Dawn found an adapter) and
 * wasm, and leaves tfjs on the faster. The report's line reads "wasm 3,100 tok/s, webgpu 36 tok/s: wasm".
 */
export async function pickNodeBackend(opts: {
  model: LoadedModel;
  rows: TrainRow[] | RowSource;
  config: TrainConfig;
  webgpu: boolean;
  onProgress?: (backend: BackendName, step: number, of: number) => void;
}): Promise<AutoPickReport & { backend: BackendChoice }> {
  const { model, rows, config } = opts;
  const info = opts.webgpu ? await webgpuAdapterInfo().catch(() => null) : null;
  const list = AUTO_PICK_CANDIDATES.filter((b) => (b === 'webgpu' ? !!info : !!tf.findBackendFactory(b)));
  const adapter = info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' / ') : 'none';
  const home = tf.getBackend();
  const { pick, measured } = await autoPick<Trainer>(
    {
      model: model.name,
      objective: config.objective,
      batchSize: config.batchSize,
      gradAccum: config.gradAccum,
      maxSeqLen: config.maxSeqLen,
    },
    {
      cache: pickCache,
      device: `adapter ${adapter}`,
      candidates: list,
      activate,
      time: timeWarmSteps,
      trainer: async (b) => {
        const choice: BackendChoice = {
          name: b,
          fallbackFrom: [],
          ...(b === 'webgpu' && info ? { adapterInfo: info } : {}),
        };
        const advice = trainMemoryAdvice(model, config, choice);
        if (advice) throw new Error(advice);
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
      carry: () => [
        ...namedTensors(model.weights).values(),
        ...packedWeights(model.weights).flatMap((p) => [p.data, p.scales]),
      ],
      onProgress: (p) => opts.onProgress?.(p.backend, p.step, p.of),
    },
  );
  const backend: BackendChoice = {
    name: pick.choice,
    fallbackFrom: [],
    ...(pick.choice === 'webgpu' && info ? { adapterInfo: info } : {}),
  };
  return { line: formatAutoPick(pick), pick, measured, backend };
}
