/**
 * The wasm Identity replacement (src/lib/model/kernels/identity/wasm.ts): before installWasmKernels a
 * clone on wasm is a copy (a new buffer); after it, a clone shares its input's buffer, with the same
 * values, and the buffer outlives the input's disposal.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installWasmKernels } from '../../../../src/lib/model/kernels/install';

afterAll(() => tf.setBackend('cpu'));

const dataId = (t: tf.Tensor) => (t as unknown as { dataId: object }).dataId;

describe('wasm Identity', () => {
  it('copies with tfjs kernel, shares the buffer once installed', async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    const x = tf.tensor1d([1, 2, 3, 4]);
    const copy = tf.clone(x);
    expect(dataId(copy)).not.toBe(dataId(x));
    installWasmKernels();
    const shared = tf.clone(x);
    expect(dataId(shared)).toBe(dataId(x));
    x.dispose();
    expect(Array.from(shared.dataSync())).toEqual([1, 2, 3, 4]); // still readable after x is gone
    shared.dispose();
    copy.dispose();
  });
});
