/**
 * Dispatches and readbacks per training step on WebGPU (`npm run bench -- --configs dispatch`, in the
 * default list; measured only where the webgpu backend runs): one CLO step of the given model, with every
 * lab kernel registered for webgpu forced to its reference path (tfjs's generic kernels), then with the
 * kernels. Counted at the WebGPU API: each GPUComputePassEncoder.dispatchWorkgroups call is a dispatch,
 * each GPUBuffer.mapAsync for reading a readback (tfjs maps its upload staging buffers for writing, not
 * counted). Small shapes by default: on a software adapter (SwiftShader) a step takes seconds.
 */
import type { LoadedModel } from '../src/lib/model/model';
import type { TokenizedSeq } from '../src/lib/model/batch';
import { mulberry32 } from '../src/lib/model/sample';
import { forceReference, labKernels } from '../src/lib/model/kernels/registry';
import { Trainer } from '../src/lib/train/trainer';
import { defaultTrainConfig } from '../src/lib/train/defaults';

const counts = { dispatches: 0, readbacks: 0 };
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
    return dispatch.apply(this, a);
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
