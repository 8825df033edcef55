/**
 * Shared set-up for the WebGPU kernel tests: Dawn's WebGPU in Node (cli/node-env.ts), the webgpu backend
 * with the lab's kernels installed, and comparisons (the cases and checks themselves: webgpu-cases.ts, which
 * the Chromium check runs too). Where Dawn finds no adapter the caller skips with a visible warning.
 */
import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { enableNodeWebgpu } from '../../../cli/node-env';
import { installLabKernels } from '../../../src/lib/model/kernels/install';
import type { CheckRow } from './webgpu-cases';

/** true: the webgpu backend is running with the lab's kernels; false: warned, the caller skips. */
export async function webgpuOrSkip(what: string): Promise<boolean> {
  const ok = (await enableNodeWebgpu()) && (await tf.setBackend('webgpu'));
  if (!ok) {
    console.warn(
      `${what}: webgpu cases SKIPPED: no WebGPU adapter in this Node (Dawn found no Vulkan driver; see docs/webgpu-here.md)`,
    );
    return false;
  }
  await tf.ready();
  installLabKernels('webgpu');
  return true;
}

/** max |x| (read asynchronously: webgpu in Node has no synchronous readback) */
export async function maxAbs(x: tf.Tensor): Promise<number> {
  const m = tf.tidy(() => tf.max(tf.abs(x)));
  const v = (await m.data())[0];
  m.dispose();
  return v;
}

/** max |a − b| / max(1, max |b|) */
export async function relDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.sub(a, b);
  const r = (await maxAbs(d)) / Math.max(1, await maxAbs(b));
  d.dispose();
  return r;
}

/** The gradients of `loss` and the value of `forward` at xs, with the names of the kernels the gradients ran. */
export async function gradsOn(
  loss: (...xs: tf.Tensor[]) => tf.Tensor,
  xs: tf.Tensor[],
  forward: (...xs: tf.Tensor[]) => tf.Tensor,
): Promise<{ value: tf.Tensor; grads: tf.Tensor[]; kernels: string[] }> {
  let grads: tf.Tensor[] = [];
  const prof = await tf.profile(() => {
    grads = tf.grads(loss)(xs);
  });
  return { value: forward(...xs), grads, kernels: prof.kernels.map((k) => k.name) };
}

/** Every row of a kernel check (webgpu-cases.ts) ok: on failure the rows that are not are shown whole. */
export function expectRowsOk(rows: CheckRow[]): void {
  expect(rows.length).toBeGreaterThan(0);
  expect(rows.filter((r) => !r.ok)).toEqual([]);
}
