/**
 * Dispatches and readbacks per training step on WebGPU (`npm run bench -- --configs dispatch`, in the
 * default list; measured only where the webgpu backend runs): one CLO step of the given model, with every
 * lab kernel registered for webgpu forced to its reference path (tfjs's generic kernels), then with the
 * kernels. Counted at the WebGPU API: each GPUComputePassEncoder.dispatchWorkgroups call is a dispatch,
 * each GPUBuffer.mapAsync for reading a readback (tfjs maps its upload staging buffers for writing, not
 * counted). Small shapes by default: on a software adapter (SwiftShader) a step takes seconds.
 */
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../src/lib/model/model';
import type { TokenizedSeq } from '../src/lib/model/batch';
import { mulberry32 } from '../src/lib/model/sample';
import { forceReference, labKernels } from '../src/lib/model/kernels/registry';
import { Trainer } from '../src/lib/train/trainer';
import { defaultTrainConfig } from '../src/lib/train/defaults';

const counts = { dispatches: 0, readbacks: 0 };
/** dispatches by the tfjs kernel whose run made them (the innermost engine.runKernel on the stack) */
let byKernel = new Map<string, number>();
const kernelStack: string[] = [];
let wrapped = false;

/** Wrap the two WebGPU calls once (globals of the Dawn module in Node, of the page in a browser). */
function countCalls(): void {
  if (wrapped) return;
  wrapped = true;
  const g = globalThis as unknown as {
    GPUComputePassEncoder: { prototype: GPUComputePassEncoder };
    GPUBuffer: { prototype: GPUBuffer };
  };
  const pass = g.GPUComputePassEncoder.prototype;
  const dispatch = pass.dispatchWorkgroups;
  pass.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...a: Parameters<typeof dispatch>) {
    counts.dispatches++;
    const name = kernelStack[kernelStack.length - 1] ?? '(outside kernels)';
    byKernel.set(name, (byKernel.get(name) ?? 0) + 1);
    return dispatch.apply(this, a);
  };
  const engine = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
  const runKernel = engine.runKernel.bind(engine);
  engine.runKernel = (name: string, ...rest: unknown[]) => {
    kernelStack.push(name);
    try {
      return runKernel(name, ...rest);
    } finally {
      kernelStack.pop();
    }
  };
  const buf = g.GPUBuffer.prototype;
  const map = buf.mapAsync;
  buf.mapAsync = function (this: GPUBuffer, mode: number, ...rest: [number?, number?]) {
    if (mode & 1 /* GPUMapMode.READ */) counts.readbacks++;
    return map.call(this, mode, ...rest);
  };
}

export interface DispatchRow {
  path: 'reference' | 'kernels';
  /** the ops forced to their reference path (empty for 'kernels') */
  forced: string[];
  dispatches_per_step: number;
  readbacks_per_step: number;
  ms_per_step: number;
  tokens_per_s: number;
  /** dispatches per step by tfjs kernel name, most first */
  by_kernel: Record<string, number>;
}

/** Both rows (reference paths, then kernels) for `steps` CLO steps after one warm-up step, batch B × seq T. */
export async function webgpuDispatches(
  model: LoadedModel,
  B: number,
  T: number,
  steps: number,
): Promise<{ batch: number; seq: number; steps: number; rows: DispatchRow[]; fewer_dispatches: number }> {
  countCalls();
  const ops = [...new Set(labKernels('webgpu').map((k) => k.op))];
  const rng = mulberry32(11);
  const seqs: TokenizedSeq[] = Array.from({ length: 4 * B }, () => ({
    ids: Array.from({ length: T }, () => 3 + Math.floor(rng() * (model.config.vocabSize - 3))),
    start: T / 2,
  }));
  const rows: DispatchRow[] = [];
  for (const path of ['reference', 'kernels'] as const) {
    ops.forEach((op) => forceReference(op, path === 'reference'));
    const cfg = defaultTrainConfig('clo', { batchSize: B, maxSeqLen: T, steps: 1000 });
    const trainer = Trainer.create(model, [{ kind: 'clo', xEn: 'a', yEn: 'b', xTgt: 'c', yTgt: 'd', lang: 'ko' }], cfg);
    await trainer.step([seqs]); // pipelines compiled, the reference cache filled
    counts.dispatches = 0;
    counts.readbacks = 0;
    byKernel = new Map();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await trainer.step([seqs]);
    const ms = (performance.now() - t0) / steps;
    rows.push({
      path,
      forced: path === 'reference' ? ops : [],
      dispatches_per_step: counts.dispatches / steps,
      readbacks_per_step: counts.readbacks / steps,
      ms_per_step: +ms.toFixed(1),
      tokens_per_s: +(((4 * B * T) / ms) * 1000).toFixed(1),
      by_kernel: Object.fromEntries([...byKernel].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, n / steps])),
    });
    trainer.dispose();
  }
  ops.forEach((op) => forceReference(op, false));
  const [ref, ker] = rows;
  return {
    batch: B,
    seq: T,
    steps,
    rows,
    fewer_dispatches: +(ref.dispatches_per_step / ker.dispatches_per_step).toFixed(2),
  };
}
