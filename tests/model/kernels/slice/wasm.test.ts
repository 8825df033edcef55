/**
 * The contiguous-slice fast path on the wasm backend (src/lib/model/kernels/slice/wasm.ts): slices, splits and
 * AdamW's flat split give what the cpu backend gives, for float32 and int32, contiguous and not (the
 * latter through tfjs's own kernel), including empty pieces.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { fastWasmSlice } from '../../../../src/lib/model/kernels/slice/wasm';

afterAll(async () => {
  await tf.setBackend('cpu');
});

type Case = { name: string; run: () => tf.Tensor[] };

const x3 = () =>
  tf.tensor3d(
    Array.from({ length: 4 * 5 * 6 }, (_, i) => i * 0.5 - 7),
    [4, 5, 6],
  );
const cases: Case[] = [
  { name: 'rows of a matrix (contiguous)', run: () => [tf.slice(x3().reshape([20, 6]), [3, 0], [7, 6])] },
  { name: 'a block of rows of a 3-D tensor (contiguous)', run: () => [tf.slice(x3(), [1, 2, 0], [1, 3, 6])] },
  { name: 'columns (not contiguous)', run: () => [tf.slice(x3().reshape([20, 6]), [0, 2], [20, 3])] },
  { name: 'a 1-D piece', run: () => [tf.slice(tf.range(0, 50, 1, 'float32'), [17], [9])] },
  { name: 'int32', run: () => [tf.slice(tf.range(0, 30, 1, 'int32').reshape([6, 5]), [2, 0], [3, 5])] },
  {
    name: 'an empty piece beside a full one',
    run: () => [tf.slice(tf.range(0, 10, 1, 'float32'), [4], [0]), tf.slice(tf.range(0, 10, 1, 'float32'), [4], [6])],
  },
  { name: 'split into uneven pieces', run: () => tf.split(tf.range(0, 100, 1, 'float32'), [10, 0, 33, 57]) },
  { name: 'split along axis 1 (not contiguous)', run: () => tf.split(x3(), [2, 4], 2) },
];

describe('wasm Slice fast path', () => {
  it.each(cases)('= the cpu backend ($name)', async ({ run }) => {
    expect(await tf.setBackend('cpu')).toBe(true);
    const want = run().map((t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync()) }));
    expect(await tf.setBackend('wasm')).toBe(true);
    fastWasmSlice();
    const got = run().map((t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync()) }));
    expect(got).toEqual(want);
    expect(want.some((w) => w.values.length > 0)).toBe(true);
  });

  it('replaced the wasm kernel (contiguous slices no longer read the input out of the heap)', async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    fastWasmSlice();
    const x = tf.range(0, 1000, 1, 'float32');
    const be = tf.backend() as unknown as { readSync(id: object): unknown };
    const orig = be.readSync.bind(be);
    let reads = 0;
    be.readSync = (id: object) => {
      reads++;
      return orig(id);
    };
    const pieces = tf.split(x, [100, 400, 500]);
    be.readSync = orig;
    expect(reads).toBe(0);
    expect(Array.from(pieces[1].dataSync()).slice(0, 3)).toEqual([100, 101, 102]);
    tf.dispose([x, ...pieces]);
  });
});
