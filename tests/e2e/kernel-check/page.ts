/**
 * The WebGPU kernel check in Chromium: a test-only page module, never part of the app's build.
 * tests/e2e/webgpu-kernels.spec.ts bundles it (esbuild) and serves it at /__kernel-check/ (page.route, the
 * preview server's origin, so that navigator.gpu exists), then calls what it puts on window.kernelCheck:
 *  - kernels(): tfjs's webgpu backend on the lab's device (registerLabWebgpu) with the lab's kernels
 *    (installLabKernels), every WGSL
 *    kernel against its reference path (the cases and checks the Node tests run: tests/model/kernels/webgpu-cases.ts);
 *    returns the adapter and the rows {op, case, maxAbsDiff, tol, ok};
 *  - deviceLost(): the device-lost scenario of the Node test (tests/backend/webgpu-fault-run.ts): an
 *    uninterrupted run, then the same run with its device destroyed in step 2, resumed from its checkpoint
 *    on a re-created backend; returns the error and the two trajectories' largest differences.
 */
import * as tf from '@tensorflow/tfjs';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { DeviceLostError, registerLabWebgpu, type WebGPUBackendClass } from '../../../src/lib/backend/webgpu-device';
import { installLabKernels } from '../../../src/lib/model/kernels/install';
import { runWebgpuChecks, type CheckRow } from '../../model/kernels/webgpu-cases';
import { FAULT_STEPS, lostAndResumed, trajectoryDiff, uninterruptedRun } from '../../backend/webgpu-fault-run';

export interface KernelCheckResult {
  /** the WebGPU adapter's vendor and architecture (null: none) */
  adapter: { vendor: string; architecture: string } | null;
  backend: string;
  rows: CheckRow[];
}

export interface DeviceLostResult {
  backend: string;
  /** the error's name and message, and the loss's reason */
  error: { name: string; message: string; reason: string | null } | null;
  stepsBefore: number;
  checkpointStep: number | null;
  outcome: { status: string; steps: number } | null;
  /** the uninterrupted and the resumed run's losses per step */
  lossWant: number[];
  lossGot: number[];
  /** the largest relative difference of loss, grad_norm and rewards/margins; of the LoRA weights (absolute) */
  metricsDiff: number | null;
  loraDiff: number | null;
  references: number | null;
  steps: number;
}

async function adapterInfo(): Promise<KernelCheckResult['adapter']> {
  const gpu = (
    navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: Record<string, string> } | null> } }
  ).gpu;
  const a = await gpu?.requestAdapter();
  if (!a) return null;
  return { vendor: a.info?.vendor ?? '', architecture: a.info?.architecture ?? '' };
}

async function startWebgpu(): Promise<void> {
  registerLabWebgpu(WebGPUBackend as unknown as WebGPUBackendClass);
  if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend did not start');
  await tf.ready();
  installLabKernels('webgpu');
}

async function kernels(): Promise<KernelCheckResult> {
  const adapter = await adapterInfo();
  await startWebgpu();
  const rows = await runWebgpuChecks();
  return { adapter, backend: tf.getBackend(), rows };
}

async function deviceLost(): Promise<DeviceLostResult> {
  await startWebgpu();
  const want = await uninterruptedRun();
  const r = await lostAndResumed(2);
  const e = r.error;
  const d = r.resumed ? trajectoryDiff(r.resumed, want) : null;
  return {
    backend: tf.getBackend(),
    error: e
      ? {
          name: e instanceof Error ? e.name : typeof e,
          message: e instanceof Error ? e.message : String(e),
          reason: e instanceof DeviceLostError ? e.loss.reason : null,
        }
      : null,
    stepsBefore: r.stepsBefore,
    checkpointStep: r.checkpointStep,
    outcome: r.outcome,
    lossWant: want.metrics.map((m) => m.loss),
    lossGot: r.resumed?.metrics.map((m) => m.loss) ?? [],
    metricsDiff: d?.metrics ?? null,
    loraDiff: d?.lora ?? null,
    references: r.resumed?.references ?? null,
    steps: FAULT_STEPS,
  };
}

(window as unknown as { kernelCheck: object }).kernelCheck = { kernels, deviceLost };
document.getElementById('status')!.textContent = 'ready';
