/**
 * Attention alone, forward + backward: autodiff, the tf custom-gradient form, the WebAssembly kernel over copies
 * and attention() as the kernel registry picks it (on wasm: the kernel in place on the heap).
 * `node cli/launch.mjs bench/attention-micro.ts [backend] [n] [R] [S] [hd] [reps]` (defaults: stories260K CLO shapes).
 */
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../cli/node-env';
import {
  attention,
  autodiffAttention,
  fusedAttention,
  kernelAttention,
} from '../src/lib/model/kernels/attention/attention';

const [backend = 'wasm', ns = '128', Rs = '256', Ss = '128', hds = '8', reps = '3'] = process.argv.slice(2);
await initNodeBackend(backend);
const [n, R, S, hd] = [ns, Rs, Ss, hds].map(Number);
const q = tf.randomNormal([n, R, hd]) as tf.Tensor3D;
const k = tf.randomNormal([n, S, hd]) as tf.Tensor3D;
const v = tf.randomNormal([n, S, hd]) as tf.Tensor3D;
const G = R / S;
const m = new Float32Array(R * S);
for (let r = 0; r < R; r++) for (let s = (r % S) + 1; s < S; s++) m[r * S + s] = -1e9;
const bias = tf.tensor3d(m, [1, R, S]);
const FORMS = { autodiff: autodiffAttention, fused: fusedAttention, kernel: kernelAttention, auto: attention };
for (const form of ['autodiff', 'fused', 'kernel', 'auto', 'autodiff', 'fused', 'kernel', 'auto'] as const) {
  const f = FORMS[form];
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    tf.sum(f(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, bias, 1 / Math.sqrt(hd))),
  );
  const times: number[] = [];
  for (let i = 0; i < Number(reps) + 1; i++) {
    const c = process.cpuUsage();
    const out = g([q, k, v]);
    await Promise.all(out.map((x) => x.data()));
    out.forEach((x) => x.dispose());
    const d = process.cpuUsage(c);
    times.push((d.user + d.system) / 1000);
  }
  console.log(
    `${form}: fwd+bwd CPU ${times
      .slice(1)
      .map((t) => t.toFixed(0))
      .join(' ')} ms (G=${G})  tensors ${tf.memory().numTensors}`,
  );
}
